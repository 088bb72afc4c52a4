import { GetItemCommand, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { STYLE_ID_ATTRIBUTE, STYLE_VALUE_ATTRIBUTE } from "./style-table";

/** Named styles: a style's value is an action string such as `image/resize,w_200/quality,q_50`. */
export interface StyleStore {
  get(name: string): Promise<string | undefined>;
}

/** How long a style (or its absence) is remembered in process. */
export const STYLE_CACHE_TTL_MS = 60_000;
const STYLE_CACHE_ENTRIES = 1000;

/**
 * Styles in DynamoDB (schema in `style-table.ts`). Lookups (hits and misses) are
 * cached for a short TTL, and concurrent lookups of one name share a request.
 */
export class DynamoStyleStore implements StyleStore {
  private readonly cache = new Map<string, { expires: number; value: Promise<string | undefined> }>();

  constructor(
    private readonly client: DynamoDBClient,
    private readonly table: string,
    private readonly ttlMs = STYLE_CACHE_TTL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  get(name: string): Promise<string | undefined> {
    const cached = this.cache.get(name);
    if (cached && cached.expires > this.now()) return cached.value;
    const value = this.load(name);
    this.cache.delete(name);
    if (this.cache.size >= STYLE_CACHE_ENTRIES) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(name, { expires: this.now() + this.ttlMs, value });
    value.catch(() => this.cache.delete(name)); // a failed lookup is not remembered
    return value;
  }

  private async load(name: string): Promise<string | undefined> {
    const { Item } = await this.client.send(
      new GetItemCommand({
        TableName: this.table,
        Key: { [STYLE_ID_ATTRIBUTE]: { S: name } },
        ProjectionExpression: "#style",
        ExpressionAttributeNames: { "#style": STYLE_VALUE_ATTRIBUTE },
      }),
    );
    return Item?.[STYLE_VALUE_ATTRIBUTE]?.S;
  }
}
