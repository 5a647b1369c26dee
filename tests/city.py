"""A small test city: two departments, three categories, one area and a staff account
per role. Written here for the tests; it is not data from any real city."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi.testclient import TestClient

from civicpulse.domain.roles import SYSTEM
from civicpulse.infra.context import Context
from civicpulse.services.catalogue import import_catalogue
from civicpulse.services.staff import add_user

SQUARE = {
    "type": "Polygon",
    "coordinates": [[[120.0, 30.0], [120.1, 30.0], [120.1, 30.1], [120.0, 30.1], [120.0, 30.0]]],
}

CATALOGUE = {
    "departments": [
        {"code": "roads", "name_en": "Roads", "name_zh": "道路", "email": "roads@city.test"},
        {"code": "parks", "name_en": "Parks", "name_zh": "园林"},
        {"code": "north-roads", "name_en": "North Roads", "name_zh": "北区道路"},
    ],
    "categories": [
        {"code": "pothole", "name_en": "Pothole", "name_zh": "路面坑洼", "department": "roads",
         "first_response_hours": 24, "resolution_hours": 72,
         "extra_fields": [{"code": "size", "datatype": "singlevaluelist", "required": False,
                           "values": ["small", "large"]}]},
        {"code": "tree", "name_en": "Fallen tree", "name_zh": "树木倒伏", "department": "parks",
         "first_response_hours": 4, "resolution_hours": 48},
        {"code": "other", "name_en": "Other", "name_zh": "其他"},
    ],
    "areas": [{"code": "north", "name_en": "North", "name_zh": "北区", "geojson": SQUARE}],
    "routing_rules": [{"category": "pothole", "area": "north", "department": "north-roads"}],
}

PASSWORD = "correct horse battery"


@dataclass
class City:
    ctx: Context
    client: TestClient

    def token(self, username: str) -> dict[str, str]:
        r = self.client.post(
            "/api/v1/auth/token", data={"username": username, "password": PASSWORD}
        )
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}


def seed_city(ctx: Context) -> None:
    import_catalogue(ctx, SYSTEM, CATALOGUE)
    add_user(ctx, SYSTEM, "admin", "admin", PASSWORD)
    add_user(ctx, SYSTEM, "dispatch", "dispatcher", PASSWORD)
    add_user(ctx, SYSTEM, "roads1", "officer", PASSWORD, "roads")
    add_user(ctx, SYSTEM, "roads2", "officer", PASSWORD, "roads")
    add_user(ctx, SYSTEM, "parks1", "officer", PASSWORD, "parks")
    add_user(ctx, SYSTEM, "audit", "auditor", PASSWORD)
