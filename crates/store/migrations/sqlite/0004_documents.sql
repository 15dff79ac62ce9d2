-- Documents applicants upload (passport scan, service record, criminal-record certificate).
--
-- The file itself never enters the database: the store seals it (XChaCha20-Poly1305, AAD =
-- documents | content | document id) under a key of its own, and the sealed bytes are written
-- to object storage under a server-chosen key. This row says where the object is, what it is,
-- the SHA-256 of the sealed bytes (so that an object swapped or altered in storage is refused
-- before it is opened) and the document's key, sealed. Rows are written after their object,
-- so a row never points at an object that was never written.
CREATE TABLE documents (
    id             TEXT    NOT NULL PRIMARY KEY,
    application_id TEXT    NOT NULL REFERENCES applications (id),
    kind           TEXT    NOT NULL
                   CHECK (kind IN ('passport_scan', 'service_record', 'criminal_record_certificate')),
    content_type   TEXT    NOT NULL CHECK (content_type IN ('application/pdf', 'image/jpeg', 'image/png')),
    size           INTEGER NOT NULL CHECK (size > 0),
    object_key     TEXT    NOT NULL UNIQUE,
    sealed_sha256  TEXT    NOT NULL CHECK (length(sealed_sha256) = 64),
    -- The document's own key, sealed like any column under the mission's data key (base64
    -- envelope, AAD = documents | content_key | document id | key version). Rotating the
    -- mission's key re-seals this, never the object.
    content_key    TEXT    NOT NULL,
    uploaded_at    INTEGER NOT NULL
) STRICT;

CREATE INDEX documents_application ON documents (application_id, uploaded_at);
