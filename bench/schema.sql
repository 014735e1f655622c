-- Tables of the durable floor (og_bench_floor durable) and the FastAPI peer (bench/peer_fastapi.py):
-- an order row and an append-only event per status change. bench/bench.sh loads it into its own
-- PostgreSQL before the targets start. The gateway keeps its own schema (configs/bench-durable.yaml).
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS order_service CASCADE;
CREATE SCHEMA order_service;

CREATE TABLE order_service.orders (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id      text NOT NULL,
    client_order_id text NOT NULL,
    symbol          text NOT NULL,
    side            text NOT NULL,
    quantity        numeric NOT NULL,
    price           numeric,
    status          text NOT NULL,
    broker_order_id text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT orders_client_order_id_unique UNIQUE (account_id, client_order_id)
);

CREATE TABLE order_service.order_events (
    id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id bigint NOT NULL REFERENCES order_service.orders (id),
    status   text NOT NULL,
    source   text NOT NULL,
    at       timestamptz NOT NULL DEFAULT now()
);
