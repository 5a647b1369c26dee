"""A real third-party Open311 client (the ``georeport`` package from PyPI) reads a real
``civicpulse serve`` over HTTP, in JSON and in XML."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from georeport import GeoReport

from civicpulse.domain.roles import SYSTEM
from civicpulse.infra.context import Context
from civicpulse.services.staff import add_api_key
from tests.city import seed_city
from tests.live import cli_env, live_server


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_georeport_client_reads_our_server(
    ctx: Context, db_url: str, tmp_path: Path, fmt: str
) -> None:
    seed_city(ctx)
    key = add_api_key(ctx, SYSTEM, "georeport-test")
    with live_server(cli_env(db_url, tmp_path / "data")) as base:
        created = httpx.post(
            f"{base}/open311/v2/requests.json",
            data={
                "api_key": key,
                "service_code": "pothole",
                "lat": "30.05",
                "long": "120.05",
                "description": "Pothole outside the library",
                "attribute[size]": "small",
            },
            timeout=10,
        )
        assert created.status_code == 200, created.text
        rid = created.json()[0]["service_request_id"]

        client = GeoReport(f"{base}/open311/v2", output_format=fmt)
        services = client.get_service_list()
        assert sorted(s["service_code"] for s in services) == ["other", "pothole", "tree"]

        definition = client.get_service_definition("pothole")
        assert definition["service_code"] == "pothole"
        attributes = definition["attributes"]
        # xmltodict gives the one <attribute> inside <attributes> as a dict
        attribute = attributes[0] if fmt == "json" else attributes["attribute"]
        assert attribute["code"] == "size" and attribute["datatype"] == "singlevaluelist"

        requests_ = client.get_service_requests(service_code="pothole", status="open")
        if isinstance(requests_, dict):  # xmltodict gives one element as a dict
            requests_ = [requests_]
        assert [r["service_request_id"] for r in requests_] == [rid]

        one = client.get_service_request(rid)
        assert one["service_request_id"] == rid and one["status"] == "open"
        assert one["description"] == "Pothole outside the library"
        assert one["agency_responsible"] == "North Roads"
