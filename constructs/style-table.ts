import { DynamodbTable } from "@cdktf/provider-aws/lib/dynamodb-table";
import { DynamodbTableItem } from "@cdktf/provider-aws/lib/dynamodb-table-item";
import { Construct } from "constructs";
import { STYLE_ID_ATTRIBUTE, STYLE_VALUE_ATTRIBUTE } from "../functions/image/style-table";

export interface StyleTableProps {
  readonly tableName: string;
  /**
   * Styles written as items at deploy (name → action string). Terraform owns these items: a style
   * edited outside Terraform is reset at the next deploy; styles added outside it are left alone.
   * @default none
   */
  readonly styles?: Readonly<Record<string, string>>;
}

/** Named image styles: on-demand DynamoDB with point-in-time recovery and server-side encryption. */
export class StyleTable extends Construct {
  readonly table: DynamodbTable;

  constructor(scope: Construct, id: string, props: StyleTableProps) {
    super(scope, id);
    this.table = new DynamodbTable(this, "table", {
      name: props.tableName,
      billingMode: "PAY_PER_REQUEST",
      hashKey: STYLE_ID_ATTRIBUTE,
      attribute: [{ name: STYLE_ID_ATTRIBUTE, type: "S" }],
      pointInTimeRecovery: { enabled: true },
      serverSideEncryption: { enabled: true },
    });
    for (const [name, process] of Object.entries(props.styles ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
      new DynamodbTableItem(this, `style-${name}`, {
        tableName: this.table.name,
        hashKey: this.table.hashKey,
        item: JSON.stringify({ [STYLE_ID_ATTRIBUTE]: { S: name }, [STYLE_VALUE_ATTRIBUTE]: { S: process } }),
      });
    }
  }
}
