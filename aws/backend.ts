import { LocalBackend, S3Backend, type TerraformStack } from "cdktf";
import { isAbsolute, posix } from "node:path";
import type { BackendConfig } from "../config";

/**
 * Where a stack's synthesized Terraform runs (`cdktf.out/stacks/<id>`) relative to the project
 * root. Local state paths are written relative to it so that the synthesized JSON does not
 * depend on the machine, and remote-state readers in sibling stacks resolve the same file.
 */
const STACK_DIR_TO_PROJECT_ROOT = "../../..";

/** Configures the stack's backend; cdktf derives every remote-state reader from it. */
export function configureBackend(stack: TerraformStack, stackId: string, backend: BackendConfig): void {
  if (backend.type === "local") {
    const directory = isAbsolute(backend.directory)
      ? backend.directory
      : posix.join(STACK_DIR_TO_PROJECT_ROOT, backend.directory);
    new LocalBackend(stack, { path: posix.join(directory, `terraform.${stackId}.tfstate`) });
    return;
  }
  const s3 = new S3Backend(stack, {
    bucket: backend.bucket,
    key: `${backend.keyPrefix}/${stackId}.tfstate`,
    region: backend.region,
    encrypt: backend.encrypt,
  });
  // cdktf 0.21 predates S3-native locking (Terraform 1.10+), so the attribute is set directly.
  if (backend.useLockfile) s3.addOverride("use_lockfile", true);
}
