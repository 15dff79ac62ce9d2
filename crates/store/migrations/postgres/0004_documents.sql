-- Documents applicants upload. Same table as migrations/sqlite/0004_documents.sql; see there.
CREATE TABLE documents (
    id             TEXT    NOT NULL PRIMARY KEY,
    application_id TEXT    NOT NULL REFERENCES applications (id),
    kind           TEXT    NOT NULL
                   CHECK (kind IN ('passport_scan', 'service_record', 'criminal_record_certificate')),
    content_type   TEXT    NOT NULL CHECK (content_type IN ('application/pdf', 'image/jpeg', 'image/png')),
    size           BIGINT  NOT NULL CHECK (size > 0),
    object_key     TEXT    NOT NULL UNIQUE,
    sealed_sha256  TEXT    NOT NULL CHECK (length(sealed_sha256) = 64),
    content_key    TEXT    NOT NULL,
    uploaded_at    BIGINT  NOT NULL
);

CREATE INDEX documents_application ON documents (application_id, uploaded_at);
