/** Error codes of the OSS error body, with the HTTP status each one maps to. */
export const ERROR_STATUS = {
  InvalidArgument: 400,
  BadRequest: 400,
  MissingArgument: 400,
  ImageTooLarge: 400,
  AccessDenied: 403,
  NoSuchKey: 404,
  NoSuchStyle: 404,
  ResponseTooLarge: 413,
  ServiceUnavailable: 503,
  InternalError: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** The one error type of the image function: anything else that is thrown is an internal failure (500). */
export class ImageError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "ImageError";
    this.status = ERROR_STATUS[code];
  }
}

const escapeXml = (text: string) =>
  text.replace(/[<>&'"]/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", "'": "&apos;", '"': "&quot;" })[c]!);

/** The OSS error document: `<Error><Code/><Message/><RequestId/></Error>`. */
export function errorXml(code: ErrorCode, message: string, requestId: string): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${escapeXml(message)}</Message>` +
    `<RequestId>${escapeXml(requestId)}</RequestId></Error>`
  );
}
