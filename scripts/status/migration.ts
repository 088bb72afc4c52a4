import { QueryCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { JobStatus } from "../../functions/shared/backfill-jobs";
import { JOBS_STATUS_ATTRIBUTE, JOBS_STATUS_INDEX } from "../../functions/shared/backfill-jobs-table";
import type { MigrationStatus } from "./report";

/** Copy jobs by status, from the jobs table's `by-status` index (done records expire after an hour). */
export interface JobCounts {
  readonly jobsTable: string;
  readonly inProgress: number;
  readonly doneLastHour: number;
  readonly failed: number;
}

/**
 * The migration section from the backfill jobs table: the plug-in `npm run status` uses until
 * `npm run migrate:status`'s core takes its place (a MigrationStatus too).
 */
export function jobCountsMigrationStatus(documents: DynamoDBDocumentClient): MigrationStatus {
  return async ({ outputs }) => {
    const table = outputs["storage-replication"]?.backfill_jobs_table_name;
    if (typeof table !== "string") return undefined;
    const count = async (status: string) => {
      let total = 0;
      let ExclusiveStartKey: Record<string, unknown> | undefined;
      do {
        const page = await documents.send(
          new QueryCommand({
            TableName: table,
            IndexName: JOBS_STATUS_INDEX,
            KeyConditionExpression: "#status = :status",
            ExpressionAttributeNames: { "#status": JOBS_STATUS_ATTRIBUTE },
            ExpressionAttributeValues: { ":status": status },
            Select: "COUNT",
            ExclusiveStartKey,
          }),
        );
        total += page.Count ?? 0;
        ExclusiveStartKey = page.LastEvaluatedKey;
      } while (ExclusiveStartKey);
      return total;
    };
    const [inProgress, doneLastHour, failed] = await Promise.all([
      count(JobStatus.inProgress),
      count(JobStatus.done),
      count(JobStatus.failed),
    ]);
    return { jobsTable: table, inProgress, doneLastHour, failed } satisfies JobCounts;
  };
}
