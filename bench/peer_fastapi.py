"""The FastAPI peer of bench/bench.sh: what an order service on the usual Python stack does for
POST /api/v1/orders, with the same durable writes as the durable floor (bench/floor.cpp):

  claim the Idempotency-Key in Redis (SET NX EX) -> PostgreSQL transaction {insert the order,
  insert its PENDING_NEW event} -> simulated broker ack -> transaction {mark it OPEN, insert the
  OPEN event} -> Redis SET of the answer -> 201.

A key already claimed answers the stored body (replay) or 409 while the first request runs.
Tables: bench/schema.sql. Environment: DATABASE_URL, REDIS_URL.
Run: uvicorn peer_fastapi:app --host 127.0.0.1 --port N --workers W (from bench/).
"""
import json
import os
from decimal import Decimal
from typing import Optional

import asyncpg
import redis.asyncio as redis
from fastapi import FastAPI, Header, Response
from pydantic import BaseModel

TTL_SECONDS = 86400


class NewOrder(BaseModel):
    account_id: str
    client_order_id: str
    symbol: str
    side: str
    quantity: Decimal
    price: Optional[Decimal] = None
    exchange: str = "NSE"
    order_type: str = "LIMIT"
    time_in_force: str = "DAY"
    product: str = "CNC"


app = FastAPI()
resources = {}


@app.on_event("startup")
async def connect():
    resources["db"] = await asyncpg.create_pool(os.environ["DATABASE_URL"], min_size=2, max_size=16)
    resources["cache"] = redis.from_url(os.environ["REDIS_URL"])


@app.on_event("shutdown")
async def disconnect():
    await resources["db"].close()
    await resources["cache"].close()


@app.get("/health")
async def health():
    return {"status": "ok"}


@app.post("/api/v1/orders", status_code=201)
async def place_order(order: NewOrder, response: Response,
                      idempotency_key: Optional[str] = Header(default=None)):
    cache = resources["cache"]
    key = "idem:" + idempotency_key if idempotency_key else None
    if key is not None and not await cache.set(key, "inflight", nx=True, ex=TTL_SECONDS):
        previous = await cache.get(key)
        if previous == b"inflight":
            response.status_code = 409
            return {"code": "IDEMPOTENCY_IN_FLIGHT"}
        response.headers["Idempotent-Replayed"] = "true"
        return json.loads(previous)

    async with resources["db"].acquire() as db:
        async with db.transaction():
            order_id = await db.fetchval(
                "INSERT INTO order_service.orders"
                " (account_id, client_order_id, symbol, side, quantity, price, status)"
                " VALUES ($1, $2, $3, $4, $5, $6, 'PENDING_NEW') RETURNING id",
                order.account_id, order.client_order_id, order.symbol, order.side,
                order.quantity, order.price)
            await db.execute(
                "INSERT INTO order_service.order_events (order_id, status, source)"
                " VALUES ($1, 'PENDING_NEW', 'api')", order_id)
        broker_order_id = "SIM-%d" % order_id  # the simulated broker acks at once
        async with db.transaction():
            await db.execute(
                "UPDATE order_service.orders SET status = 'OPEN', broker_order_id = $2,"
                " updated_at = now() WHERE id = $1", order_id, broker_order_id)
            await db.execute(
                "INSERT INTO order_service.order_events (order_id, status, source)"
                " VALUES ($1, 'OPEN', 'broker')", order_id)

    answer = {"id": str(order_id), "broker_order_id": broker_order_id, "status": "OPEN",
              "client_order_id": order.client_order_id, "quantity": str(order.quantity),
              "price": None if order.price is None else str(order.price)}
    if key is not None:
        await cache.set(key, json.dumps(answer), ex=TTL_SECONDS)
    return answer
