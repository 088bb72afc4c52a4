import { z } from "zod";
import { enabled } from "../primitives";

/** Lambda@Edge functions of the back-to-origin flow (stack `edge`, us-east-1). */
export const edgeSection = z.strictObject({ enabled });
