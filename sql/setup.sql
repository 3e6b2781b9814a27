-- Shared set-up of the regression tests: the extension and a helper that
-- runs a statement and shows its error with the test directory hidden, so
-- that expected output does not depend on where the tests run.
CREATE EXTENSION IF NOT EXISTS ape_resume;

CREATE FUNCTION public.regress_try(q text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    dir text := current_setting('ape_regress.dir', true);
    msg text;
    detail text;
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL;
    IF dir IS NOT NULL AND dir <> '' THEN
        msg := replace(msg, dir, '$DIR');
    END IF;
    RETURN 'ERROR: ' || msg || coalesce(' DETAIL: ' || nullif(detail, ''), '');
END $$;

-- where tests put files for the server: a folder the test runner made
\getenv regress_dir APE_REGRESS_DIR
SELECT set_config('ape_regress.dir', :'regress_dir', false) IS NOT NULL AS dir_set;
DO $$ BEGIN
  EXECUTE format('ALTER DATABASE %I SET ape_regress.dir = %L',
                 current_database(), current_setting('ape_regress.dir'));
END $$;

SELECT extname, extversion FROM pg_extension WHERE extname = 'ape_resume';
SELECT n.nspname FROM pg_namespace n WHERE n.nspname = 'ape_resume';
