/**
 * The port a deployment runs its service's schema migration through (issue 17). The composition
 * root chooses the adapter: PostgreSQL (src/migrate/postgres-migrations.ts) for a service with a
 * `database`. The deployment only knows versions by their schema name.
 */

/** What `teal migrate lint` flags in the migration a deploy would expand. */
export interface MigrationFinding {
  readonly file: string;
  readonly path: string;
  readonly rule: string;
  readonly message: string;
  readonly fix: string;
}

/** Where the service's schema stands, as the next deploy sees it. */
export interface MigrationPlan {
  /** The migration this deploy expands, or null when every migration file is applied. */
  readonly pending: { readonly name: string; readonly schema: string } | null;
  /** The schema the new version runs on: the pending migration's, else the latest one (null: none yet). */
  readonly schema: string | null;
  /** The lint's findings for the pending migration; a deploy with any is refused. */
  readonly findings: readonly MigrationFinding[];
}

/** The migration in flight (expanded or half done), if any. */
export interface InFlightMigration {
  readonly name: string;
  readonly schema: string;
  readonly phase: "expanding" | "expanded" | "rolling_back";
}

export interface SchemaMigrations {
  plan(): Promise<MigrationPlan>;
  inFlight(): Promise<InFlightMigration | null>;
  /** Expand of the pending migration (resumes a half-done one); null when there is none. */
  expand(
    progress: (line: string) => void,
  ): Promise<{ readonly name: string; readonly schema: string } | null>;
  /** Contract of the migration in flight; only once no running version uses the old schema. */
  complete(): Promise<void>;
  /** Undoes the expand in flight (finishes a half-done rollback). */
  rollback(): Promise<void>;
}
