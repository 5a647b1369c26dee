"""Our XML read the way FixMyStreet reads it: Perl's XML::Simple with the options of its
``perllib/Open311.pm`` (ForceArray on every list element, GroupTags folding each wrapper
into its list, KeyAttr off, SuppressEmpty undef), then the checks its code makes, such as
``ref $meta_data->{attributes} eq 'ARRAY'`` before it warns "Empty meta data".

Needs ``perl`` with XML::Simple (Debian: libxml-simple-perl, installed by ``.ci/run``). It
skips where that is missing, except in CI, where it fails so a broken machine cannot pass.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import Any

import pytest

from civicpulse.domain.roles import SYSTEM
from civicpulse.services.staff import add_api_key, add_user
from tests.city import PASSWORD, City

BASE = "/open311/v2"

#: the reader, written to the options FixMyStreet's Open311.pm gives XML::Simple
READER = r"""
use strict;
use warnings;
use XML::Simple;
use JSON::PP;
my $group_tags = {
    services => 'service', attributes => 'attribute', values => 'value',
    service_requests => 'request', errors => 'error',
    service_request_updates => 'request_update', groups => 'group',
};
my $simple = XML::Simple->new(
    ForceArray => [ values %$group_tags ], KeyAttr => {},
    GroupTags => $group_tags, SuppressEmpty => undef,
);
local $/;
my $xml = <STDIN>;
my $obj = eval { $simple->parse_string($xml) };
die "XML::Simple could not read the document: $@" unless $obj;
print JSON::PP->new->canonical->allow_nonref->encode($obj);
"""


def _perl() -> str:
    perl = shutil.which("perl")
    found = perl is not None and (
        subprocess.run([perl, "-MXML::Simple", "-e", "1"], capture_output=True).returncode == 0
    )
    if not found:
        message = "perl with XML::Simple is needed (apt-get install libxml-simple-perl)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    assert perl is not None
    return perl


def read_like_fixmystreet(xml: bytes) -> Any:
    done = subprocess.run(
        [_perl(), "-e", READER], input=xml, capture_output=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr.decode()
    return json.loads(done.stdout)


def test_fixmystreet_reads_services_definitions_requests_and_updates(city: City) -> None:
    key = add_api_key(city.ctx, SYSTEM, "fixmystreet")
    services = read_like_fixmystreet(city.client.get(f"{BASE}/services.xml").content)
    by_code = {s["service_code"]: s for s in services["service"]}
    assert set(by_code) == {"pothole", "tree", "other"}
    assert by_code["pothole"]["service_name"] == "Pothole"
    assert by_code["pothole"]["metadata"] == "true"

    meta = read_like_fixmystreet(city.client.get(f"{BASE}/services/pothole.xml").content)
    assert isinstance(meta.get("attributes"), list), f"Empty meta data: {meta}"
    [size] = meta["attributes"]
    assert size["code"] == "size" and size["required"] == "false"
    assert [v["key"] for v in size["values"]] == ["small", "large"]
    bare = read_like_fixmystreet(city.client.get(f"{BASE}/services/tree.xml").content)
    assert bare["service_code"] == "tree" and not bare.get("attributes")

    posted = city.client.post(
        f"{BASE}/requests.xml",
        data={
            "api_key": key,
            "service_code": "pothole",
            "lat": "30.05",
            "long": "120.05",
            "description": "Hole by the school",
            "attribute[size]": "large",
        },
    )
    created = read_like_fixmystreet(posted.content)
    [answer] = created["request"]
    rid = answer["service_request_id"]
    assert rid and "token" not in answer

    requests = read_like_fixmystreet(
        city.client.get(f"{BASE}/requests.xml", params={"service_request_id": rid}).content
    )
    [request] = requests["request"]
    assert request["service_code"] == "pothole" and request["status"] == "open"
    assert request["description"] == "Hole by the school"

    add_user(city.ctx, SYSTEM, "fms", "officer", PASSWORD, "north-roads")
    bound = add_api_key(city.ctx, SYSTEM, "fixmystreet-updates", acts_as="fms")
    sent = city.client.post(
        f"{BASE}/servicerequestupdates.xml",
        data={
            "api_key": bound,
            "service_request_id": rid,
            "status": "FIXED",
            "description": "Filled",
        },
    )
    [update_answer] = read_like_fixmystreet(sent.content)["request_update"]
    assert update_answer["update_id"]
    feed = read_like_fixmystreet(city.client.get(f"{BASE}/servicerequestupdates.xml").content)
    mine = [u for u in feed["request_update"] if u["service_request_id"] == rid]
    assert mine[-1]["status"] == "FIXED" and mine[-1]["description"] == "Filled"

    missing = read_like_fixmystreet(city.client.get(f"{BASE}/requests/999999.xml").content)
    assert missing["error"][0]["code"] == "404"
