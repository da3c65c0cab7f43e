-- Least-privilege PostgreSQL roles for the Longyan hub.
--
--   hub_owner  owns the database, its schema and every table; used only by `hub migrate`.
--   hub_app    what `hub serve` (and the `hub admin …` / `hub audit verify` commands) log in as:
--              reads and writes the ordinary tables, but on the audit trail may only read and
--              append (plus the trigger-guarded purge below), and owns nothing, so it can neither
--              ALTER TABLE … DISABLE TRIGGER nor DROP the triggers that make the trail append-only.
--
-- The script is idempotent. Run it as a superuser with psql, once before and once after
-- `hub migrate` (and again after every upgrade that adds migrations):
--
--   psql -v ON_ERROR_STOP=1 -v db=hub -U postgres -f deploy/postgres-roles.sql
--   psql -U postgres -c '\password hub_owner'          # once; likewise for hub_app
--   HUB_DATABASE_URL=postgres://hub_owner:…@db/hub HUB_AUDIT__HMAC_KEY_FILE=… \
--     HUB_CRYPTO__DATA_KEY_FILE=… HUB_CRYPTO__INDEX_KEY_FILE=… hub migrate
--   psql -v ON_ERROR_STOP=1 -v db=hub -U postgres -f deploy/postgres-roles.sql
--   # nodes then run `hub serve` with HUB_DATABASE__URL_FILE holding postgres://hub_app:…@db/hub
--
-- `-v db=NAME` names the database (created if missing, owned by hub_owner). The first run, before
-- the tables exist, sets up roles, database and default privileges and says so; the second one
-- narrows the audit tables. Until the second run hub_app has plain table privileges on the audit
-- tables (the triggers still refuse updates and early deletes), so do not start nodes in between.
--
-- `hub serve` (and `hub admin …`) apply migrations at start-up only when some are missing; when
-- `hub migrate` ran first they only read _sqlx_migrations, so hub_app needs no CREATE privilege.
-- A node started before `hub migrate` fails with "permission denied" and a hint to run it.

\if :{?db}
\else
  \warn 'usage: psql -v ON_ERROR_STOP=1 -v db=DATABASE -U postgres -f deploy/postgres-roles.sql'
  DO $$ BEGIN RAISE EXCEPTION 'the database name is missing: give -v db=DATABASE'; END $$;
  \quit
\endif

-- Roles. Passwords are set separately (\password), so they are not in shell history or ps.
SELECT 'CREATE ROLE hub_owner LOGIN'
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'hub_owner') \gexec
SELECT 'CREATE ROLE hub_app LOGIN'
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'hub_app') \gexec
ALTER ROLE hub_owner NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT LOGIN;
ALTER ROLE hub_app   NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT LOGIN;

-- The database, owned by hub_owner; nobody else may connect except hub_app.
SELECT format('CREATE DATABASE %I OWNER hub_owner ENCODING ''UTF8'' TEMPLATE template0', :'db')
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db') \gexec
ALTER DATABASE :"db" OWNER TO hub_owner;
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
GRANT CONNECT ON DATABASE :"db" TO hub_app;

\connect :"db"

BEGIN;

-- The hub's tables live in schema public (its queries are unqualified), owned by hub_owner.
ALTER SCHEMA public OWNER TO hub_owner;
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO hub_app;
-- No CREATE: hub_app can neither add objects nor plant functions a later migration might use.
REVOKE CREATE ON SCHEMA public FROM hub_app;

-- Tables and sequences that later migrations create (as hub_owner): plain read/write.
ALTER DEFAULT PRIVILEGES FOR ROLE hub_owner IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO hub_app;
ALTER DEFAULT PRIVILEGES FOR ROLE hub_owner IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO hub_app;

-- Tables that exist already.
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO hub_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO hub_app;

-- The audit trail and the migration ledger: narrower than the above.
DO $$
BEGIN
    IF to_regclass('public._sqlx_migrations') IS NOT NULL THEN
        REVOKE ALL ON public._sqlx_migrations FROM hub_app;
        GRANT SELECT ON public._sqlx_migrations TO hub_app;
    END IF;
    IF to_regclass('public.audit_log') IS NULL THEN
        RAISE NOTICE 'the hub''s tables do not exist yet: run `hub migrate` as hub_owner, then run this script again';
        RETURN;
    END IF;
    REVOKE ALL ON public.audit_log, public.audit_head, public.audit_archive FROM hub_app;
    -- Read and append. DELETE only for the retention job, which purges records after exporting
    -- them to <data_dir>/audit-archive/ and anchoring them in audit_archive; the trigger
    -- audit_log_guard_delete refuses every other deletion (not archived, or younger than 180 days).
    GRANT SELECT, INSERT, DELETE ON public.audit_log TO hub_app;
    -- The writer moves the sealed head forward (and locks it with SELECT … FOR UPDATE, which
    -- needs UPDATE); the trigger audit_head_forward_only refuses moving it back.
    GRANT SELECT, UPDATE ON public.audit_head TO hub_app;
    -- Archive anchors are appended, never changed (trigger audit_archive_no_update).
    GRANT SELECT, INSERT ON public.audit_archive TO hub_app;
END
$$;

COMMIT;
