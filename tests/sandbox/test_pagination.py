"""`page=N` answers the N-th slice of the id order, whatever order pages are asked in and
whatever was written between two pages (the sandbox answers it by keyset, issue 18.2)."""

from __future__ import annotations

import random

from tests.sandbox.conftest import Live
from tests.sandbox.test_contract import amazon_store


def test_any_page_in_any_order_is_the_slice_of_the_id_order(live: Live) -> None:
    live.admin(
        "POST",
        "/_sandbox/seed",
        {"customers": [{"id": i, "company_name": f"C{i:03d}"} for i in range(1, 231)]},
    )
    with live.client() as c:
        every = [x["id"] for x in c.get("/customers", params={"per_page": 100}).json()]
        every += [x["id"] for x in c.get("/customers", params={"per_page": 100, "page": 2}).json()]
        every += [x["id"] for x in c.get("/customers", params={"per_page": 100, "page": 3}).json()]
        assert every == sorted(every) and len(every) == 230
        rng = random.Random(7)
        asks = [(page, per) for per in (1, 7, 25, 100) for page in range(1, 230 // per + 3)]
        rng.shuffle(asks)
        for page, per in asks[:300]:
            got = [
                x["id"] for x in c.get("/customers", params={"page": page, "per_page": per}).json()
            ]
            assert got == every[(page - 1) * per : page * per], (page, per)


def test_a_write_between_two_pages_moves_the_later_pages(live: Live) -> None:
    with live.client() as c:
        requests = []
        for n in range(6):
            customer = c.post("/customers", json={"company_name": f"M{n}"}).json()["id"]
            store = c.post("/stores", json=amazon_store(customer, f"S{n}")).json()["id"]
            requests.append(
                c.post(
                    f"/stores/{store}/authorization_requests", json={"email": "ops@acme.example"}
                ).json()["id"]
            )

        def page(n: int) -> list[int]:
            answer = c.get(
                "/authorization_requests", params={"status": "pending", "per_page": 2, "page": n}
            )
            return [x["id"] for x in answer.json()]

        assert [page(1), page(2), page(3)] == [requests[0:2], requests[2:4], requests[4:6]]
        assert c.delete(f"/authorization_requests/{requests[1]}").status_code == 204
        assert page(2) == [requests[3], requests[4]]
        assert page(3) == [requests[5]]
