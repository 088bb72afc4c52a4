/** Kept apart from the message schemas so that the edge bundle does not carry zod. */
/** The queue URL of a queue in the account of the running function (Lambda@Edge has no env vars). */
export function queueUrlFor(invokedFunctionArn: string, region: string, queueName: string): string {
  const account = invokedFunctionArn.split(":")[4];
  if (!account || !/^\d{12}$/.test(account)) throw new Error(`no account id in function ARN ${invokedFunctionArn}`);
  return `https://sqs.${region}.amazonaws.com/${account}/${queueName}`;
}
