// placeholder: replaced by ingest, features and shards
