import Foundation
import KilnStore
import PostgresNIO

extension PostgresJobStore {
  /// The schema's history, oldest first: a name and its statements. A migration that
  /// has landed is never edited: change the schema by appending a new one.
  ///
  /// Text that queries sort or compare by is `COLLATE "C"`, so that orders and page
  /// cursors are byte orders, as in SQLite, whatever the database's locale.
  static let migrations: [(name: String, statements: [String])] = [
    (
      "v1-initial",
      [
        // The one row every job-changing transaction locks first (see PostgresJobStore).
        """
        CREATE TABLE revision_counter (
          only_row BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (only_row),
          value BIGINT NOT NULL
        )
        """,
        "INSERT INTO revision_counter (value) VALUES (0)",
        """
        CREATE TABLE job (
          id TEXT COLLATE "C" PRIMARY KEY,
          project TEXT COLLATE "C" NOT NULL,
          job_type TEXT COLLATE "C" NOT NULL,
          subject TEXT COLLATE "C" NOT NULL,
          status TEXT NOT NULL,
          status_rank BIGINT NOT NULL,
          create_time BIGINT NOT NULL,
          update_time BIGINT NOT NULL,
          duration_ms BIGINT NOT NULL,
          queued_time BIGINT,
          revision BIGINT NOT NULL,
          body TEXT NOT NULL
        )
        """,
        // The scheduler's queue, the console's default views, retention's sweep.
        "CREATE INDEX job_queue ON job (status, queued_time, id)",
        "CREATE INDEX job_create ON job (create_time, id)",
        "CREATE INDEX job_project_create ON job (project, create_time, id)",
        "CREATE INDEX job_update ON job (update_time, id)",
        "CREATE INDEX job_subject ON job (project, subject)",
        "CREATE INDEX job_status_create ON job (status, create_time, id)",
        "CREATE INDEX job_status_update ON job (status, update_time, id)",
        // The event log; revisions come from revision_counter, never reused.
        """
        CREATE TABLE job_event (
          revision BIGINT PRIMARY KEY,
          job_id TEXT NOT NULL,
          project TEXT NOT NULL,
          kind TEXT NOT NULL,
          previous_status TEXT,
          time BIGINT NOT NULL,
          body TEXT NOT NULL
        )
        """,
        "CREATE INDEX job_event_job ON job_event (job_id, revision)",
        "CREATE INDEX job_event_time ON job_event (time)",
        // Answers to mutating requests, by request id, for idempotent retries.
        """
        CREATE TABLE request (
          id TEXT PRIMARY KEY,
          fingerprint TEXT NOT NULL,
          response BYTEA NOT NULL,
          create_time BIGINT NOT NULL
        )
        """,
        "CREATE INDEX request_time ON request (create_time)",
        "CREATE TABLE setting (name TEXT PRIMARY KEY, value BYTEA NOT NULL)",
        """
        CREATE TABLE project (
          name TEXT COLLATE "C" PRIMARY KEY,
          description TEXT NOT NULL,
          create_time BIGINT NOT NULL,
          creator TEXT NOT NULL,
          callback_url TEXT
        )
        """,
        """
        CREATE TABLE account (
          name TEXT COLLATE "C" PRIMARY KEY,
          is_admin BOOLEAN NOT NULL,
          is_disabled BOOLEAN NOT NULL DEFAULT FALSE,
          create_time BIGINT NOT NULL
        )
        """,
        // At most one role per user and project.
        """
        CREATE TABLE role_binding (
          user_name TEXT COLLATE "C" NOT NULL REFERENCES account (name) ON DELETE CASCADE,
          project TEXT COLLATE "C" NOT NULL REFERENCES project (name) ON DELETE CASCADE,
          role TEXT NOT NULL,
          PRIMARY KEY (user_name, project)
        )
        """,
        "CREATE INDEX role_binding_project ON role_binding (project)",
        // Tokens are found by the SHA-256 of their secret; the secret is never stored.
        """
        CREATE TABLE token (
          id TEXT COLLATE "C" PRIMARY KEY,
          user_name TEXT NOT NULL REFERENCES account (name) ON DELETE CASCADE,
          secret_hash TEXT NOT NULL UNIQUE,
          description TEXT NOT NULL,
          create_time BIGINT NOT NULL,
          expire_time BIGINT,
          revoke_time BIGINT
        )
        """,
        "CREATE INDEX token_user ON token (user_name, create_time)",
        """
        CREATE TABLE audit_event (
          id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
          time BIGINT NOT NULL,
          actor TEXT NOT NULL,
          token_id TEXT NOT NULL,
          method TEXT NOT NULL,
          target_kind TEXT NOT NULL,
          target TEXT NOT NULL,
          project TEXT NOT NULL,
          code BIGINT NOT NULL,
          message TEXT NOT NULL,
          peer TEXT NOT NULL
        )
        """,
        "CREATE INDEX audit_event_time ON audit_event (time)",
        "CREATE INDEX audit_event_actor ON audit_event (actor, id)",
        "CREATE INDEX audit_event_project ON audit_event (project, id)",
        "CREATE INDEX audit_event_target ON audit_event (target, id)",
        "CREATE INDEX audit_event_method ON audit_event (method, id)",
        // Completion callbacks, queued in the transaction of the change that triggers
        // them (an outbox); next_attempt_time is NULL once delivered or given up.
        """
        CREATE TABLE callback_delivery (
          id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
          job_id TEXT NOT NULL,
          url TEXT NOT NULL,
          origin TEXT NOT NULL,
          job_status TEXT NOT NULL,
          revision BIGINT NOT NULL,
          payload BYTEA NOT NULL,
          create_time BIGINT NOT NULL,
          attempts BIGINT NOT NULL DEFAULT 0,
          last_attempt_time BIGINT,
          last_result TEXT,
          last_status_code BIGINT,
          delivered BOOLEAN NOT NULL DEFAULT FALSE,
          next_attempt_time BIGINT
        )
        """,
        """
        CREATE INDEX callback_delivery_due ON callback_delivery (next_attempt_time, id)
          WHERE next_attempt_time IS NOT NULL
        """,
        "CREATE INDEX callback_delivery_job ON callback_delivery (job_id, id)",
        """
        CREATE TABLE subject (
          project TEXT COLLATE "C" NOT NULL REFERENCES project (name),
          name TEXT COLLATE "C" NOT NULL,
          kind TEXT NOT NULL,
          schema TEXT NOT NULL,
          attributes TEXT NOT NULL,
          version BIGINT NOT NULL,
          create_time BIGINT NOT NULL,
          update_time BIGINT NOT NULL,
          creator TEXT NOT NULL,
          PRIMARY KEY (project, name)
        )
        """,
      ]
    ),
    (
      "v2-job-leases",
      [
        // Which replica runs a RUNNING job, and until when (see JobLeases).
        "ALTER TABLE job ADD COLUMN lease_owner TEXT",
        "ALTER TABLE job ADD COLUMN lease_expiry BIGINT",
        "CREATE INDEX job_lease ON job (lease_owner) WHERE status = 'RUNNING'",
      ]
    ),
    (
      "v3-job-counts",
      [
        // Jobs by project and status, kept by triggers in every job-changing
        // transaction (which already hold revision_counter's lock, so their updates of
        // these rows never interleave): a list's total_size by project and status and
        // the kiln_jobs gauges read it instead of counting rows.
        """
        CREATE TABLE job_count (
          project TEXT COLLATE "C" NOT NULL,
          status TEXT NOT NULL,
          n BIGINT NOT NULL,
          PRIMARY KEY (project, status)
        )
        """,
        "INSERT INTO job_count (project, status, n) SELECT project, status, COUNT(*) FROM job GROUP BY project, status",
        """
        CREATE FUNCTION kiln_job_count() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF TG_OP IN ('DELETE', 'UPDATE') THEN
            UPDATE job_count SET n = n - 1 WHERE project = OLD.project AND status = OLD.status;
          END IF;
          IF TG_OP IN ('INSERT', 'UPDATE') THEN
            INSERT INTO job_count (project, status, n) VALUES (NEW.project, NEW.status, 1)
              ON CONFLICT (project, status) DO UPDATE SET n = job_count.n + 1;
          END IF;
          RETURN NULL;
        END
        $$
        """,
        "CREATE TRIGGER job_count_insert_delete AFTER INSERT OR DELETE ON job FOR EACH ROW EXECUTE FUNCTION kiln_job_count()",
        """
        CREATE TRIGGER job_count_update AFTER UPDATE OF project, status ON job FOR EACH ROW
          WHEN (OLD.project IS DISTINCT FROM NEW.project OR OLD.status IS DISTINCT FROM NEW.status)
          EXECUTE FUNCTION kiln_job_count()
        """,
      ]
    ),
  ]

  /// Applies the migrations this database lacks, in one transaction, under an
  /// advisory lock so that replicas starting at once migrate it once.
  func migrate() async throws {
    try await write { tx in
      // Any constant: it names "Kiln's schema" among the database's advisory locks.
      try await tx.execute("SELECT pg_advisory_xact_lock(7077001)")
      try await tx.execute(
        """
        CREATE TABLE IF NOT EXISTS kiln_migration (
          name TEXT PRIMARY KEY,
          applied_time BIGINT NOT NULL
        )
        """)
      let applied = Set(try await tx.rows("SELECT name FROM kiln_migration", as: String.self))
      for migration in Self.migrations where !applied.contains(migration.name) {
        for statement in migration.statements {
          try await tx.execute(PostgresQuery(unsafeSQL: statement))
        }
        try await tx.execute(
          "INSERT INTO kiln_migration (name, applied_time) VALUES (\(migration.name), \(JobCoding.millis(Date())))")
      }
    }
  }

  /// The names of the migrations applied to this database, in order.
  public func appliedMigrations() async throws -> [String] {
    try await read { tx in try await tx.rows("SELECT name FROM kiln_migration ORDER BY applied_time, name", as: String.self) }
  }
}
