"""Writes redaction_spans.jsonl: synthetic residents' messages with labelled personal data.

Every sentence frame below was written by hand for this file, in the style of message-board
and hotline messages; every number is generated here (fake, with valid checksums where the
format has one). Negatives (order numbers, dates, prices, case numbers, room numbers, times)
sit in the same sentences and must not be redacted. Run it again to rebuild the file:

    .venv/bin/python tests/data/make_redaction_spans.py

The output is fixed by the seed, so the file in the repository is reproducible.
"""

# ruff: noqa: E501  (the sentence frames read better unwrapped)
from __future__ import annotations

import json
import random
import re
from pathlib import Path

from civicpulse.understanding.redaction import id_check_char, luhn_valid

OUT = Path(__file__).with_name("redaction_spans.jsonl")
rng = random.Random(20261129)

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国志鹏飞晓东海波"
EN_FIRST = ["John", "Mary", "Robert", "Linda", "James", "Patricia", "Kevin", "Maria", "Wei", "Aisha"]
EN_LAST = ["Smith", "Johnson", "O'Brien", "Garcia", "Nguyen", "Brown", "Walsh", "Chen", "Murphy"]
AREA_CODES = ["010", "021", "0731", "0755", "020", "0571", "028", "0739"]
PROVINCES = "京沪湘粤浙川鄂苏鲁豫"
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"


def mobile() -> str:
    n = "1" + rng.choice("3456789") + "".join(rng.choice("0123456789") for _ in range(9))
    style = rng.random()
    if style < 0.6:
        return n
    if style < 0.75:
        return f"{n[:3]}-{n[3:7]}-{n[7:]}"
    if style < 0.9:
        return f"{n[:3]} {n[3:7]} {n[7:]}"
    return f"+86 {n}"


def landline() -> str:
    area = rng.choice(AREA_CODES)
    local_len = 8 if len(area) == 3 else rng.choice((7, 8))
    local = rng.choice("2345678") + "".join(rng.choice("0123456789") for _ in range(local_len - 1))
    style = rng.random()
    if style < 0.6:
        return f"{area}-{local}"
    if style < 0.8:
        return f"({area}){local}"
    return f"{area}{local}"


def us_phone() -> str:
    a = str(rng.randint(201, 989))
    b = str(rng.randint(200, 999))
    c = f"{rng.randint(0, 9999):04d}"
    return rng.choice([f"({a}) {b}-{c}", f"{a}-{b}-{c}", f"{a}.{b}.{c}", f"+1 {a}-{b}-{c}"])


def email() -> str:
    user = rng.choice(["zhang.wei", "liming88", "resident2020", "j.smith", "wangfang_a3", "k.walsh"])
    host = rng.choice(["example.com", "mail.example.cn", "example.org", "163.example.net"])
    return f"{user}{rng.randint(1, 99)}@{host}"


def resident_id() -> str:
    region = rng.choice(["430102", "430103", "110105", "440305", "310115"])
    birth = f"{rng.randint(1945, 2005)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    seq = f"{rng.randint(0, 999):03d}"
    first = region + birth + seq
    check = id_check_char(first)
    if check == "X" and rng.random() < 0.5:
        check = "x"
    return first + check


def card() -> str:
    prefix = rng.choice(["622202", "621700", "622848", "436742", "402674", "552801"])
    length = rng.choice((16, 16, 19))
    while True:
        body = prefix + "".join(rng.choice("0123456789") for _ in range(length - len(prefix) - 1))
        for last in "0123456789":
            if luhn_valid(body + last):
                number = body + last
                break
        if rng.random() < 0.3 and length == 16:
            return " ".join(number[i : i + 4] for i in range(0, 16, 4))
        return number


def plate() -> str:
    tail_len = rng.choice((5, 5, 5, 6))
    tail = "".join(rng.choice("0123456789" + PLATE_LETTERS[:6]) for _ in range(tail_len))
    sep = rng.choice(["", "", "·"])
    return f"{rng.choice(PROVINCES)}{rng.choice(PLATE_LETTERS)}{sep}{tail}"


def zh_name() -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))


def en_name() -> str:
    return f"{rng.choice(EN_FIRST)} {rng.choice(EN_LAST)}"


def zh_address() -> str:
    place = rng.choice(["霞光北院", "幸福里小区", "金桂苑", "红旗新村", "人民路", "建设北路", "丰收村3组"])
    if place.endswith("路"):
        return f"{place}{rng.randint(1, 400)}号"
    if place.endswith("组"):
        return f"{place}{rng.randint(1, 60)}号"
    return rng.choice([
        f"{place}B{rng.randint(1, 9)}-{rng.randint(101, 2503)}",
        f"{place}{rng.randint(1, 30)}栋{rng.randint(101, 2503)}室",
        f"{place}{rng.randint(1, 30)}栋{rng.randint(1, 4)}单元{rng.randint(101, 2503)}",
    ])


def en_address() -> str:
    street = rng.choice(["Linden Street", "Oak Rd", "Harvard Ave", "Mill Road", "Elm St", "Beacon Street"])
    unit = rng.choice(["", "", f" Apt {rng.randint(1, 20)}", f", Unit {rng.randint(1, 9)}B"])
    return f"{rng.randint(1, 999)} {street}{unit}"


def order_number() -> str:
    """Digits a resident copies from an order or a receipt; may happen to pass Luhn."""
    return "".join(rng.choice("0123456789") for _ in range(rng.choice((12, 16, 18, 20))))


def not_luhn(n: int) -> str:
    while True:
        s = rng.choice("123456789") + "".join(rng.choice("0123456789") for _ in range(n - 1))
        if not luhn_valid(s):
            return s


def bad_id() -> str:
    """18 digits that look like an ID but fail the check character."""
    good = resident_id().upper()
    wrong = next(c for c in "0123456789X" if c != good[17])
    return good[:17] + wrong


POSITIVE = {
    "mobile": ("phone", mobile),
    "landline": ("phone", landline),
    "us_phone": ("phone", us_phone),
    "email": ("email", email),
    "id": ("id_number", resident_id),
    "card": ("bank_card", card),
    "plate": ("plate", plate),
    "zh_name": ("name", zh_name),
    "en_name": ("name", en_name),
    "room": ("address", lambda: f"{rng.randint(1, 30)}栋{rng.randint(1, 4)}单元{rng.randint(101, 2808)}"),
    "zh_address": ("address", lambda: zh_address()),
    "en_address": ("address", lambda: en_address()),
}
NEGATIVE = {
    "order": order_number,
    "date": lambda: f"{rng.randint(2017, 2020)}年{rng.randint(1, 12)}月{rng.randint(1, 28)}日",
    "isodate": lambda: f"{rng.randint(2017, 2020)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
    "price": lambda: f"{rng.randint(100, 98000)}.{rng.randint(0, 99):02d}",
    "amount": lambda: str(rng.randint(1000, 999999)),
    "badid": bad_id,
    "nonluhn16": lambda: not_luhn(16),
    "time": lambda: f"{rng.randint(6, 23)}:{rng.randint(0, 59):02d}",
    "bus": lambda: f"{rng.randint(1, 999)}路",
}

FRAMES = [
    "我叫{zh_name}，住在A市A3区某小区{room}，楼下餐馆油烟太大，请尽快处理，电话{mobile}。",
    "本人{zh_name}，{date}在网上缴纳物业费{price}元至今未开发票，联系电话：{mobile}",
    "联系人：{zh_name} 手机：{mobile} 邮箱：{email}，反映小区停车位被占用问题。",
    "姓名：{zh_name}，身份证号：{id}，社保卡一直办不下来，已经等了三个月。",
    "我的银行卡号{card}，养老金{date}应该到账却没有到，请人社局核实。",
    "{date}下午{time}左右，车牌号{plate}的渣土车在A7县主干道上乱倒垃圾，请城管处理。",
    "我是{zh_name}，孩子在A2区某小学上学，学校收取资料费{amount}元不开收据，我的电话{mobile}。",
    "订单号{order}的快递一直没有派送，投诉了也没人管，我叫{zh_name}，电话{landline}。",
    "工单编号{order}已经回复办结，但问题根本没有解决，联系方式{mobile}，{email}。",
    "请相关部门管管{plate}这辆车，长期占用消防通道，已拍照，举报人电话{landline}。",
    "我叫{zh_name}，身份证{id}，{date}办理的公积金提取一直未审批，金额{price}元。",
    "医保卡绑定的银行卡{card}被扣款{price}元，不知道什么原因，本人{zh_name}。",
    "小区{room}住户装修噪音到晚上{time}还不停，联系人{zh_name}，电话{mobile}。",
    "{isodate} 我在银行办理业务，卡号 {card}，柜员多收了手续费{amount}元。",
    "单位拖欠工资{amount}元，我叫{zh_name}，身份证号码{id}，联系电话{mobile}，请劳动监察大队帮忙。",
    "My name is {en_name}, the street light at Elm St has been out since {isodate}. Call me at {us_phone}.",
    "Pothole near {en_address}, case #{order}, please fix. Contact: {en_name}, {us_phone}, {email}",
    "This is {en_name} from Dorchester, my car ({plate}) was towed on {isodate}; phone {us_phone}.",
    "I was charged ${price} on my card {card} by the parking office; my number is {us_phone}.",
    "Reference {order}: the trash was not picked up on {isodate} at {time}. Email me at {email}.",
    "公交{bus}车上司机态度恶劣，车牌{plate}，时间{date}{time}，我的邮箱{email}。",
    "身份证号{badid}这个号码是别人冒用的吗？我叫{zh_name}，电话{landline}。",
    "购房合同编号{nonluhn16}，开发商{date}前应交房却一直拖延，业主代表{zh_name}，电话{mobile}。",
    "交通罚款{price}元，违章车辆{plate}，车主{zh_name}表示不是本人驾驶，联系人：{zh_name}。",
    "卫生院收费{amount}元不合理，家属联系电话：{landline}，或{mobile}。",
    "学校补课收费每人{price}元，家长{zh_name}，手机{mobile}，邮箱{email}，请教育局查处。",
    "I'm {en_name} and the sidewalk on Beacon St is broken since {isodate}; reach me at {email}.",
    "Name: {en_name}. Phone: {us_phone}. Graffiti on the wall of {en_address}, reported {isodate}.",
    "请问{date}缴纳的社保{amount}元为什么没有记录？社保卡号关联的银行卡{card}，联系电话{mobile}。",
    "我是A5区居民，楼道灯坏了{amount}天没人修，电话{mobile}，谢谢。",
    "本人于上周在超市买到过期食品，小票金额{price}元，流水号{order}，请市场监管局查处。",
    "业主们多次反映{room}漏水，物业{date}答应维修至今没来，订单{order}。",
    "I am writing about the broken hydrant on {isodate}; This is the third time. Ticket {order}.",
    "投诉人{zh_name}，{date}在A1区政务大厅办理居住证，排队到{time}还没办完，电话{landline}。",
    "家住{zh_address}，楼下烧烤店每晚营业到{time}，油烟噪音扰民，电话{mobile}。",
    "A市住建局{date}答复说会处理，但{zh_address}的漏水至今没人管，业主{zh_name}，电话{mobile}。",
    "I live at {en_address}, the streetlight outside has been out since {isodate}.",
    "My neighbour {en_name} at {en_address} keeps leaving bags on the sidewalk; call {us_phone}.",
    "Pothole on Main Street by the Boston Public Works yard, reported {isodate}, ticket {order}.",
    "Graffiti on the wall of {en_address} again. Officer on duty said to call {us_phone}.",
]


def fill(frame: str) -> dict[str, object]:
    text = ""
    spans: list[dict[str, object]] = []
    at = 0
    for m in re.finditer(r"\{(\w+)\}", frame):
        text += frame[at : m.start()]
        key = m.group(1)
        if key in POSITIVE:
            kind, make = POSITIVE[key]
            value = make()
            spans.append({"start": len(text), "end": len(text) + len(value), "kind": kind})
        else:
            value = NEGATIVE[key]()
        text += value
        at = m.end()
    text += frame[at:]
    return {"text": text, "spans": spans}


def main() -> None:
    lines = []
    for _round in range(4):
        for frame in FRAMES:
            lines.append(fill(frame))
    with OUT.open("w", encoding="utf-8") as f:
        for row in lines:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    total = sum(len(r["spans"]) for r in lines)  # type: ignore[arg-type]
    print(f"{len(lines)} messages, {total} spans -> {OUT}")


if __name__ == "__main__":
    main()
