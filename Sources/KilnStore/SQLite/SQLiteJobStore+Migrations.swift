import GRDB

extension SQLiteJobStore {
  /// The schema's history. A migration that has landed is never edited: change the
  /// schema by appending a new one.
  static var migrator: DatabaseMigrator {
    var migrator = DatabaseMigrator()
    migrator.registerMigration("v1-jobs-events-requests") { db in
      try db.execute(
        sql: """
          CREATE TABLE job (
            id TEXT PRIMARY KEY NOT NULL,
            project TEXT NOT NULL,
            job_type TEXT NOT NULL,
            subject TEXT NOT NULL,
            status TEXT NOT NULL,
            status_rank INTEGER NOT NULL,
            create_time INTEGER NOT NULL,
            update_time INTEGER NOT NULL,
            duration_ms INTEGER NOT NULL,
            queued_time INTEGER,
            revision INTEGER NOT NULL,
            body TEXT NOT NULL
          );
          -- The scheduler's queue: pending jobs in FIFO order.
          CREATE INDEX job_queue ON job(status, queued_time, id);
          -- The default console view and its per-project form.
          CREATE INDEX job_create ON job(create_time, id);
          CREATE INDEX job_project_create ON job(project, create_time, id);
          CREATE INDEX job_update ON job(update_time, id);
          CREATE INDEX job_subject ON job(project, subject);
          CREATE INDEX job_status_create ON job(status, create_time, id);

          -- The event log. AUTOINCREMENT: a revision is never reused, even after
          -- the newest events are compacted away.
          CREATE TABLE job_event (
            revision INTEGER PRIMARY KEY AUTOINCREMENT,
            job_id TEXT NOT NULL,
            project TEXT NOT NULL,
            kind TEXT NOT NULL,
            previous_status TEXT,
            time INTEGER NOT NULL,
            body TEXT NOT NULL
          );
          CREATE INDEX job_event_job ON job_event(job_id, revision);
          CREATE INDEX job_event_time ON job_event(time);

          -- Answers to mutating requests, by request id, for idempotent retries.
          CREATE TABLE request (
            id TEXT PRIMARY KEY NOT NULL,
            fingerprint TEXT NOT NULL,
            response BLOB NOT NULL,
            create_time INTEGER NOT NULL
          );
          CREATE INDEX request_time ON request(create_time);

          CREATE TABLE setting (
            name TEXT PRIMARY KEY NOT NULL,
            value BLOB NOT NULL
          );
          """)
    }
    migrator.registerMigration("v2-projects-users-tokens-audit") { db in
      try db.execute(
        sql: """
          CREATE TABLE project (
            name TEXT PRIMARY KEY NOT NULL,
            description TEXT NOT NULL,
            create_time INTEGER NOT NULL,
            creator TEXT NOT NULL,
            callback_url TEXT
          );
          -- Jobs written before projects existed keep their projects.
          INSERT INTO project (name, description, create_time, creator)
            SELECT project, '', MIN(create_time), 'kiln' FROM job GROUP BY project;

          CREATE TABLE account (
            name TEXT PRIMARY KEY NOT NULL,
            is_admin INTEGER NOT NULL,
            is_disabled INTEGER NOT NULL DEFAULT 0,
            create_time INTEGER NOT NULL
          );

          -- At most one role per user and project.
          CREATE TABLE role_binding (
            user_name TEXT NOT NULL REFERENCES account(name) ON DELETE CASCADE,
            project TEXT NOT NULL REFERENCES project(name) ON DELETE CASCADE,
            role TEXT NOT NULL,
            PRIMARY KEY (user_name, project)
          );
          CREATE INDEX role_binding_project ON role_binding(project);

          -- Tokens are found by the SHA-256 of their secret; the secret is never stored.
          CREATE TABLE token (
            id TEXT PRIMARY KEY NOT NULL,
            user_name TEXT NOT NULL REFERENCES account(name) ON DELETE CASCADE,
            secret_hash TEXT NOT NULL UNIQUE,
            description TEXT NOT NULL,
            create_time INTEGER NOT NULL,
            expire_time INTEGER,
            revoke_time INTEGER
          );
          CREATE INDEX token_user ON token(user_name, create_time);

          CREATE TABLE audit_event (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            time INTEGER NOT NULL,
            actor TEXT NOT NULL,
            token_id TEXT NOT NULL,
            method TEXT NOT NULL,
            target_kind TEXT NOT NULL,
            target TEXT NOT NULL,
            project TEXT NOT NULL,
            code INTEGER NOT NULL,
            message TEXT NOT NULL,
            peer TEXT NOT NULL
          );
          CREATE INDEX audit_event_time ON audit_event(time);
          CREATE INDEX audit_event_actor ON audit_event(actor, id);
          CREATE INDEX audit_event_project ON audit_event(project, id);
          CREATE INDEX audit_event_target ON audit_event(target, id);
          CREATE INDEX audit_event_method ON audit_event(method, id);
          """)
    }
    migrator.registerMigration("v3-retention-callbacks") { db in
      try db.execute(
        sql: """
          -- Retention's sweep: ended jobs, oldest change first.
          CREATE INDEX job_status_update ON job(status, update_time, id);

          -- Completion callbacks, written in the transaction of the status change that
          -- triggers them (an outbox), so a crash never loses one. next_attempt_time is
          -- NULL once a delivery is delivered or given up.
          CREATE TABLE callback_delivery (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            job_id TEXT NOT NULL,
            url TEXT NOT NULL,
            origin TEXT NOT NULL,
            job_status TEXT NOT NULL,
            revision INTEGER NOT NULL,
            payload BLOB NOT NULL,
            create_time INTEGER NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            last_attempt_time INTEGER,
            last_result TEXT,
            last_status_code INTEGER,
            delivered INTEGER NOT NULL DEFAULT 0,
            next_attempt_time INTEGER
          );
          -- The delivery service's queue: only what is still to be delivered.
          CREATE INDEX callback_delivery_due ON callback_delivery(next_attempt_time, id)
            WHERE next_attempt_time IS NOT NULL;
          -- A job's detail.
          CREATE INDEX callback_delivery_job ON callback_delivery(job_id, id);
          """)
    }
    migrator.registerMigration("v4-subjects") { db in
      try db.execute(
        sql: """
          -- What jobs work on. Deleting a project deletes its subjects in the same
          -- transaction (the reference keeps anything else from leaving them behind).
          CREATE TABLE subject (
            project TEXT NOT NULL REFERENCES project(name),
            name TEXT NOT NULL,
            kind TEXT NOT NULL,
            schema TEXT NOT NULL,
            attributes TEXT NOT NULL,
            version INTEGER NOT NULL,
            create_time INTEGER NOT NULL,
            update_time INTEGER NOT NULL,
            creator TEXT NOT NULL,
            PRIMARY KEY (project, name)
          );
          -- Jobs written before subjects existed keep theirs, at version 1.
          INSERT INTO subject (project, name, kind, schema, attributes, version, create_time, update_time, creator)
            SELECT project, subject, '', '', '{}', 1, MIN(create_time), MIN(create_time), 'kiln'
            FROM job WHERE project IN (SELECT name FROM project) GROUP BY project, subject;
          """)
    }
    migrator.registerMigration("v5-job-leases") { db in
      try db.execute(
        sql: """
          -- Which replica runs a RUNNING job, and until when (see JobLeases).
          ALTER TABLE job ADD COLUMN lease_owner TEXT;
          ALTER TABLE job ADD COLUMN lease_expiry INTEGER;
          """)
    }
    migrator.registerMigration("v6-job-counts") { db in
      try db.execute(
        sql: """
          -- Jobs by project and status, kept by triggers in every job-changing
          -- transaction: a list's total_size by project and status (the console's
          -- filters) and the kiln_jobs gauges read it instead of counting rows, which
          -- took tens of milliseconds on a million jobs.
          CREATE TABLE job_count (
            project TEXT NOT NULL,
            status TEXT NOT NULL,
            n INTEGER NOT NULL,
            PRIMARY KEY (project, status)
          ) WITHOUT ROWID;
          INSERT INTO job_count (project, status, n) SELECT project, status, COUNT(*) FROM job GROUP BY project, status;
          CREATE TRIGGER job_count_insert AFTER INSERT ON job BEGIN
            INSERT INTO job_count (project, status, n) VALUES (NEW.project, NEW.status, 1)
              ON CONFLICT (project, status) DO UPDATE SET n = n + 1;
          END;
          CREATE TRIGGER job_count_delete AFTER DELETE ON job BEGIN
            UPDATE job_count SET n = n - 1 WHERE project = OLD.project AND status = OLD.status;
          END;
          CREATE TRIGGER job_count_update AFTER UPDATE OF project, status ON job
            WHEN OLD.project IS NOT NEW.project OR OLD.status IS NOT NEW.status BEGIN
            UPDATE job_count SET n = n - 1 WHERE project = OLD.project AND status = OLD.status;
            INSERT INTO job_count (project, status, n) VALUES (NEW.project, NEW.status, 1)
              ON CONFLICT (project, status) DO UPDATE SET n = n + 1;
          END;
          """)
    }
    return migrator
  }
}
