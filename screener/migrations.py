"""The store's schema as forward migrations: frozen SQL, one entry per schema version.

``Store`` applies the entries a file lacks, in order, in one transaction. Never edit a released
entry: append a new one (the tables' columns are also ``schema.py``'s, which a test compares).
"""

MIGRATIONS: list[str] = [
    """
    CREATE TABLE meta (key VARCHAR, value VARCHAR);
    CREATE TABLE instruments (
        ticker VARCHAR, name VARCHAR, aliases VARCHAR[], exchange VARCHAR, board VARCHAR,
        sw_l1 VARCHAR, sw_l2 VARCHAR, metals VARCHAR[], list_date DATE, delist_date DATE,
        note VARCHAR);
    CREATE TABLE bars_daily (
        ticker VARCHAR, date DATE, open DOUBLE, high DOUBLE, low DOUBLE, close DOUBLE,
        prev_close DOUBLE, volume BIGINT, amount DOUBLE, adj_factor DOUBLE, suspended BOOLEAN,
        up_limit DOUBLE, down_limit DOUBLE, is_st BOOLEAN);
    CREATE TABLE index_daily (
        index_code VARCHAR, date DATE, open DOUBLE, high DOUBLE, low DOUBLE, close DOUBLE,
        volume DOUBLE, amount DOUBLE);
    CREATE TABLE series_daily (
        series_id VARCHAR, date DATE, open DOUBLE, high DOUBLE, low DOUBLE, close DOUBLE,
        settle DOUBLE, volume DOUBLE, open_interest DOUBLE, unit VARCHAR, currency VARCHAR);
    CREATE TABLE broker_notes (
        note_id VARCHAR, source VARCHAR, broker VARCHAR, report_date DATE, title VARCHAR,
        body VARCHAR, imported_at TIMESTAMP);
    CREATE TABLE broker_picks (
        note_id VARCHAR, seq BIGINT, broker VARCHAR, report_date DATE, title VARCHAR,
        metal VARCHAR, name_as_written VARCHAR, ticker VARCHAR, board VARCHAR, rating VARCHAR,
        status VARCHAR, span VARCHAR);
    CREATE TABLE runs (
        run_id VARCHAR, kind VARCHAR, created_at TIMESTAMP, thesis_path VARCHAR,
        thesis_hash VARCHAR, params VARCHAR, data_start DATE, data_end DATE,
        code_version VARCHAR, metrics VARCHAR, payload BLOB);
    """,
    """
    CREATE TABLE outbox (
        screen_date DATE, recipient VARCHAR, subject VARCHAR, message BLOB, status VARCHAR,
        attempts BIGINT, last_error VARCHAR, next_attempt_at TIMESTAMP, created_at TIMESTAMP,
        sent_at TIMESTAMP);
    """,
    """
    CREATE TABLE sweep_results (
        config_key VARCHAR, sweep_key VARCHAR, created_at TIMESTAMP, thesis_hash VARCHAR,
        params VARCHAR, data_start DATE, data_end DATE, code_version VARCHAR, metrics VARCHAR,
        equity BLOB);
    """,
    # Lineage (schema.LINEAGE) and the imports table. Rows stored before it count every
    # non-null value as given, except the derived adj_factor and suspended.
    """
    ALTER TABLE bars_daily ADD COLUMN given INTEGER;
    ALTER TABLE bars_daily ADD COLUMN import_id BIGINT;
    ALTER TABLE index_daily ADD COLUMN given INTEGER;
    ALTER TABLE index_daily ADD COLUMN import_id BIGINT;
    ALTER TABLE series_daily ADD COLUMN given INTEGER;
    ALTER TABLE series_daily ADD COLUMN import_id BIGINT;
    UPDATE bars_daily SET given =
        (CASE WHEN open IS NULL THEN 0 ELSE 1 END) +
        (CASE WHEN high IS NULL THEN 0 ELSE 2 END) + (CASE WHEN low IS NULL THEN 0 ELSE 4 END) +
        (CASE WHEN close IS NULL THEN 0 ELSE 8 END) +
        (CASE WHEN prev_close IS NULL THEN 0 ELSE 16 END) +
        (CASE WHEN volume IS NULL THEN 0 ELSE 32 END) +
        (CASE WHEN amount IS NULL THEN 0 ELSE 64 END) +
        (CASE WHEN up_limit IS NULL THEN 0 ELSE 128 END) +
        (CASE WHEN down_limit IS NULL THEN 0 ELSE 256 END) +
        (CASE WHEN is_st IS NULL THEN 0 ELSE 512 END);
    UPDATE index_daily SET given =
        (CASE WHEN open IS NULL THEN 0 ELSE 1 END) +
        (CASE WHEN high IS NULL THEN 0 ELSE 2 END) + (CASE WHEN low IS NULL THEN 0 ELSE 4 END) +
        (CASE WHEN close IS NULL THEN 0 ELSE 8 END) +
        (CASE WHEN volume IS NULL THEN 0 ELSE 16 END) +
        (CASE WHEN amount IS NULL THEN 0 ELSE 32 END);
    UPDATE series_daily SET given =
        (CASE WHEN open IS NULL THEN 0 ELSE 1 END) +
        (CASE WHEN high IS NULL THEN 0 ELSE 2 END) + (CASE WHEN low IS NULL THEN 0 ELSE 4 END) +
        (CASE WHEN close IS NULL THEN 0 ELSE 8 END) +
        (CASE WHEN settle IS NULL THEN 0 ELSE 16 END) +
        (CASE WHEN volume IS NULL THEN 0 ELSE 32 END) +
        (CASE WHEN open_interest IS NULL THEN 0 ELSE 64 END) +
        (CASE WHEN unit IS NULL THEN 0 ELSE 128 END) +
        (CASE WHEN currency IS NULL THEN 0 ELSE 256 END);
    CREATE TABLE imports (
        import_id BIGINT, started_at TIMESTAMP, finished_at TIMESTAMP, origin VARCHAR,
        source VARCHAR, content_hash VARCHAR, kind VARCHAR, format VARCHAR, policy VARCHAR,
        rows_read BIGINT, rows_new BIGINT, rows_updated BIGINT, rows_unchanged BIGINT,
        rows_conflicting BIGINT, rows_quarantined BIGINT, rows_rederived BIGINT, note VARCHAR);
    """,
    # Broker notes from PDF and HTML files: what each file was and the hash of its bytes.
    """
    ALTER TABLE broker_notes ADD COLUMN file_kind VARCHAR;
    ALTER TABLE broker_notes ADD COLUMN file_sha256 VARCHAR;
    """,
]
