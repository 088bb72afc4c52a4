// Adds cdktf's matchers (toHaveResource, toHaveResourceWithProperties, ...) to expect, with their
// types: imported for its effect by the test files that use them.
import { setupJest } from "cdktf/lib/testing/adapters/jest";

setupJest();
