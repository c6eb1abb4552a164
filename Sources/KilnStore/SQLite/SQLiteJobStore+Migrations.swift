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
    return migrator
  }
}
