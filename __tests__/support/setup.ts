import { Testing } from "cdktf";

// Adds cdktf's matchers (toHaveResource, toHaveResourceWithProperties, ...) to expect.
Testing.setupJest();
