/** Why a request or an event was not processed; the handler maps each code to its outcome. */
export type ObjectStatsErrorCode =
  /** An event that can never be counted (wrong shape): logged and skipped, never retried. */
  | "malformed-event"
  /** Another invocation holds the event's claim: fail so that EventBridge/Lambda retries later. */
  | "event-in-progress"
  /** HTTP 400. */
  | "bad-request"
  /** HTTP 404. */
  | "not-found";

export class ObjectStatsError extends Error {
  constructor(
    readonly code: ObjectStatsErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "ObjectStatsError";
  }
}
