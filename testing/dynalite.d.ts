// dynalite ships no types: the part of its API the tests and benches use.
declare module "dynalite" {
  import type { Server } from "node:http";
  interface DynaliteOptions {
    /** Milliseconds a CreateTable takes to reach ACTIVE (0 in tests). */
    createTableMs?: number;
    deleteTableMs?: number;
    updateTableMs?: number;
    /** Directory for a persistent store; in memory when absent. */
    path?: string;
  }
  function dynalite(options?: DynaliteOptions): Server;
  export = dynalite;
}
