/**
 * The style table's schema (x-oss-process.md): partition key `id`, the style's name; attribute
 * `style`, its action string (`image/resize,w_200/quality,q_50`). Shared by the engine and the
 * construct that creates the table.
 */
export const STYLE_ID_ATTRIBUTE = "id";
export const STYLE_VALUE_ATTRIBUTE = "style";
