"""Read a plan's assignment section into agency blocks, members, tasks, lead and reporting regime.

The pipeline: raw lines -> paragraphs (text.py) -> sections -> the assignment section -> blocks
(one per numbered or lettered item that names bodies) -> heading and members -> tasks. Rules work
on shapes that recur across plans (markers, separators, head nouns of agency names, the agency
registry), never on a fixture's wording.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from service.i18n import t
from service.plans import metadata, reporting, tables
from service.plans.errors import PlanError
from service.plans.readers import RawDocument, read_bytes
from service.plans.registry import Registry, default_registry, fold
from service.plans.schemas import (
    SCHEMA_ID,
    Assignment,
    PlanExtraction,
    Role,
    SectionInfo,
    SourceInfo,
    TaskItem,
)
from service.plans.text import Paragraph, is_table_row, paragraphs

DEFAULT_CALENDAR = {"semiannual": "10/06", "annual": "10/11", "period": "10/11"}
# The longest plan text read: real plans run to tens of thousands of characters; anything past
# this is not a plan, and parsing it would only keep the user waiting.
MAX_TEXT_CHARS = 2_000_000


def _strip_marks(char: str) -> str:
    decomposed = unicodedata.normalize("NFD", char)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


# Every Latin letter with marks (Vietnamese lives in U+00C0..U+1EFF) mapped to its bare letter.
_PLAIN = str.maketrans(
    {chr(code): _strip_marks(chr(code)).lower() for code in range(0xC0, 0x1F00)}
    | {"đ": "d", "Đ": "d"}
)
_NOT_WORD = re.compile(r"[^\w&]+")


def plain(text: str) -> str:
    """Lower-case key without tone marks: "đ" as "d", single spaces, no punctuation."""
    return " ".join(_NOT_WORD.sub(" ", text.lower().translate(_PLAIN)).split())


# --- sections ---------------------------------------------------------------------------------

_ROMAN = re.compile(r"^(?P<numeral>[IVXLC]{1,6})\s*[.):/–-]?\s*(?P<title>\S.*)$")
_VALID_ROMAN = re.compile(r"^(?:X{0,3})(?:IX|IV|V?I{0,3})$")
_IMPLEMENTATION = {"to chuc thuc hien", "to chuc thuc hien ke hoach"}
_ASSIGNMENT_TITLES = (
    "phan cong nhiem vu",
    "phan cong trach nhiem",
    "phan cong thuc hien",
    "nhiem vu cu the",
    "trach nhiem cua cac",
    "trach nhiem thuc hien",
    "trach nhiem to chuc thuc hien",
    "to chuc thuc hien va phan cong",
)
_CLOSING = re.compile(
    r"^(?:Trên\s+đây\s+là|Nơi\s+nhận|TM\.\s|KT\.\s|T/M\s|Q\.\s*CHỦ\s+TỊCH|CHỦ\s+TỊCH$)", re.I
)


# "PHỤ LỤC" / "Phụ lục I" opening an appendix after the signature ("… tại Phụ lục kèm theo").
_APPENDIX = re.compile(r"^(?:PHỤ\s+LỤC|Phụ\s+lục)(?:\s|$|[.:])")


def appendix_start(paras: list[Paragraph]) -> int | None:
    """Where the appendices begin: the first "Phụ lục" title after the plan's closing."""
    closed = False
    for index, paragraph in enumerate(paras):
        text = paragraph.text
        if is_table_row(text):
            closed = closed or bool(_CLOSING.match(text))  # a signature laid out in a table
        elif not closed:
            closed = bool(_CLOSING.match(text))
        elif _APPENDIX.match(text) and len(text.split()) <= 40:
            return index
    return None


@dataclass
class Section:
    numeral: str | None
    heading: str
    start: int  # index of the heading paragraph
    end: int  # index one past the section's last paragraph
    kind: str  # "implementation" | "assignment" | "other"


def _mostly_upper(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and sum(c.isupper() for c in letters) >= 0.8 * len(letters)


def _section_kind(title: str) -> str:
    key = plain(title)
    if key in _IMPLEMENTATION:
        return "implementation"
    if any(key.startswith(name) for name in _ASSIGNMENT_TITLES) and len(key.split()) <= 12:
        return "assignment"
    return "other"


def _heading_of(paragraph: Paragraph) -> tuple[str | None, str] | None:
    """(numeral, title) when the paragraph is a top-level section heading."""
    text = paragraph.text.strip()
    if len(text) > 160 or is_table_row(text):
        return None  # a table's group row ("I. Nhóm nhiệm vụ … | | |") opens no section
    roman = _ROMAN.match(text)
    if roman and _VALID_ROMAN.match(roman["numeral"]):
        title = roman["title"].strip().rstrip(".:").strip()
        if title and (title[0].isupper() or title[0] == "“") and len(title.split()) <= 20:
            return roman["numeral"], title
    title = text.rstrip(".:").strip()
    if _mostly_upper(title) and _section_kind(title) != "other":
        return None, title
    return None


def find_sections(paras: list[Paragraph]) -> list[Section]:
    heads: list[tuple[int, str | None, str]] = []
    for index, paragraph in enumerate(paras):
        head = _heading_of(paragraph)
        if head:
            heads.append((index, head[0], head[1]))
    sections: list[Section] = []
    for position, (index, numeral, title) in enumerate(heads):
        end = heads[position + 1][0] if position + 1 < len(heads) else len(paras)
        for inner in range(index + 1, end):
            if _CLOSING.match(paras[inner].text):
                end = inner
                break
        sections.append(Section(numeral, title, index, end, _section_kind(title)))
    return sections


def _implementation_subsections(paras: list[Paragraph]) -> list[Section]:
    """A "3. Tổ chức thực hiện" item inside another section, for plans without Roman sections."""
    found: list[Section] = []
    for index, paragraph in enumerate(paras):
        match = None if is_table_row(paragraph.text) else _NUMBERED.match(paragraph.text)
        if match and _section_kind(match["rest"].rstrip(".:")) == "implementation":
            end = len(paras)
            for inner in range(index + 1, len(paras)):
                if _CLOSING.match(paras[inner].text) or _heading_of(paras[inner]):
                    end = inner
                    break
            found.append(Section(None, match["rest"].rstrip(".: "), index, end, "implementation"))
    return found


# --- blocks -----------------------------------------------------------------------------------

_NUMBERED = re.compile(r"^(?P<ord>\d{1,2})\s*[.)](?!\d)\s*(?P<rest>\S.*)$")
_SUBNUMBERED = re.compile(r"^(?P<ord>\d{1,2}\.\d{1,2})\s*[.)]?\s+(?P<rest>\S.*)$")
_LETTERED = re.compile(r"^(?P<ord>[a-zđ])\s*[).]\s*(?P<rest>\S.*)$")
_BULLET = re.compile(r"^[-+•*–—‣◦▪·]\s*(?P<rest>\S.*)$")
_LEVELS = (("number", _NUMBERED), ("subnumber", _SUBNUMBERED), ("letter", _LETTERED))
_REQUEST = re.compile(r"^Đề\s+nghị\s+", re.I)
_GENERAL_CLAUSE = re.compile(
    r"^(?:chế độ|kinh phí|thông tin|tổ chức thực hiện|khen thưởng|kiểm tra|giám sát|hiệu lực"
    r"|điều khoản|thời gian|phân công|trách nhiệm|nhiệm vụ|mục đích|yêu cầu|nội dung|tiến độ"
    r"|sơ kết|tổng kết|đối với|về|công tác|các nội dung|lộ trình)\b",
    re.I,
)
# Words that start the name of a person's role rather than a body ("Đồng chí Phó Chủ tịch ...").
_ROLE_HEADS = re.compile(
    r"^(?:Đồng\s+chí|Đ/c|Chủ\s+tịch|Phó\s+Chủ\s+tịch|Trưởng|Phó\s+Trưởng|Thường\s+trực|Tiểu\s+ban"
    r"|Tổ\s|Bộ\s+phận|Thành\s+viên|Cán\s+bộ|Bí\s+thư|Phó\s+Bí\s+thư|Giám\s+đốc|Thủ\s+trưởng)",
)
# Verbs that end an agency name and start what it must do ("Sở Y tế chủ trì, phối hợp ...").
_ROLE_VERB = re.compile(
    r"\s(?=(?:là|chủ\s+trì|phối\s+hợp|thực\s+hiện|tổ\s+chức|có\s+trách\s+nhiệm|chịu\s+trách\s+nhiệm"
    r"|tham\s+mưu|căn\s+cứ|theo\s+chức\s+năng|trên\s+cơ\s+sở|chủ\s+động|hướng\s+dẫn|triển\s+khai"
    r"|xây\s+dựng|đẩy\s+mạnh|tăng\s+cường|rà\s+soát)\b)",
    re.I,
)


@dataclass
class Block:
    ordinal: str
    first: str  # the marker paragraph's text without its marker
    first_lines: list[str]
    body: list[Paragraph] = field(default_factory=list)


def _text_after_heading(rest: str) -> str:
    """What follows the heading's colon on the item's own line ("" for "1. Các sở, ngành:")."""
    return rest.split(":", 1)[1].strip() if ":" in rest else ""


def _marker(text: str, level: str) -> re.Match[str] | None:
    pattern = dict(_LEVELS)[level]
    return pattern.match(text)


def _items(paras: list[Paragraph], level: str) -> list[tuple[int, re.Match[str]]]:
    found = []
    for index, paragraph in enumerate(paras):
        match = _marker(paragraph.text, level)
        if match and not is_table_row(paragraph.text):  # rows are read by tables.py
            found.append((index, match))
    return found


class Parser:
    """One parse: holds the registry and the warnings gathered along the way."""

    def __init__(self, registry: Registry, calendar: dict[str, str]) -> None:
        self.registry = registry
        self.calendar = calendar
        self.warnings: list[str] = []

    # -- agency names --

    def looks_like_agency(self, text: str) -> bool:
        text = _REQUEST.sub("", text.strip())
        if not text:
            return False
        return bool(
            self.registry.starts_like_agency(text)
            or _ROLE_HEADS.match(text)
            or self.registry.match(text)
            or re.match(r"^(?:các|Các)\s", text)
        )

    def _starts_member(self, segment: str) -> bool:
        """Does this comma/"và" segment begin a new body rather than continue the previous name?"""
        if re.match(r"^(?:các|Các|những)\s", segment):
            return True
        first = segment[:1]
        if first.isupper() and (
            self.registry.starts_like_agency(segment) or _ROLE_HEADS.match(segment)
        ):
            return True
        return self.registry.match(segment) is not None

    def split_members(self, heading: str) -> tuple[list[str], bool]:
        """Each body a heading names, as written, and whether the split is trustworthy."""
        text = _REQUEST.sub("", heading).strip()
        text = re.sub(r"\s*\([^)]*\)", "", text).strip(" ,;")
        if self.registry.match(text):
            return [text], True
        pieces = re.split(r"(,\s*|;\s*|\s+và\s+|\s+cùng\s+)", text)
        segments = pieces[0::2]
        separators = pieces[1::2]
        members: list[str] = []
        confident = True
        for index, segment in enumerate(segments):
            segment = segment.strip()
            if not segment:
                continue
            if members and not self._starts_member(segment):
                joined = members[-1] + separators[index - 1] + segment
                if segment[:1].isupper() and not self.registry.match(joined):
                    confident = False  # "X và Yyy": one name or two? Nothing says.
                members[-1] = joined
            else:
                members.append(segment)
        if not members:
            return [text or heading], False
        # A trailing level word shared by the list stays with the last name, as written.
        return [m.strip() for m in members], confident

    def canonical(self, name: str) -> str | None:
        agency = self.registry.match(name)
        return agency.canonical if agency else None

    def is_group(self, name: str) -> bool:
        agency = self.registry.match(name)
        if agency is not None:
            return agency.group
        return bool(re.search(r"(?:^|\s)(?:các|những)\s", name, re.I))

    # -- headings --

    def split_heading(self, first: str, lines: list[str]) -> tuple[str, str | None, bool]:
        """(heading, the text after it in the same paragraph, whether the split is sure)."""
        colon = first.find(":")
        if colon > 0:
            head, rest = first[:colon].strip(), first[colon + 1 :].strip()
            if len(head.split()) <= 40:
                return head, rest or None, True
        period = re.search(r"\.(?:\s+|$)", first)
        if period and len(first[: period.start()].split()) <= 15:
            head, rest = first[: period.start()].strip(), first[period.end() :].strip()
            if self.looks_like_agency(head) or not rest:
                return head, rest or None, True
        if len(lines) > 1:
            # No separator: the heading may have been joined with the text on the next lines.
            for count in range(1, len(lines)):
                head = " ".join(lines[:count])
                head = _NUMBERED.sub(r"\g<rest>", head, count=1)
                head = _LETTERED.sub(r"\g<rest>", head, count=1)
                following = lines[count]
                if following[:1].isupper() and not self._starts_member(following):
                    if self.looks_like_agency(head) and not head.rstrip().endswith(
                        (",", "-", "và")
                    ):
                        return head.strip(), " ".join(lines[count:]).strip(), False
        verb = _ROLE_VERB.search(first)
        if (
            verb
            and len(first[verb.start() :].split()) > 10
            and len(first[: verb.start()].split()) >= 2
            and not re.search(r"(?:các|những)$", first[: verb.start()])
            and self.looks_like_agency(first[: verb.start()])
        ):
            head, rest = first[: verb.start()].strip(), first[verb.start() :].strip()
            return head, rest[:1].upper() + rest[1:], True
        return first.strip().rstrip("."), None, True

    # -- blocks --

    def _agency_item(self, match: re.Match[str]) -> bool:
        rest = match["rest"]
        head = re.split(r"[:.]\s|:$|\.$", rest, maxsplit=1)[0]
        return self.looks_like_agency(head) and not _GENERAL_CLAUSE.match(head)

    def find_blocks(self, paras: list[Paragraph], levels: tuple[str, ...] = ()) -> list[Block]:
        """The assignment blocks among `paras`, outermost numbering level first.

        An item that names bodies is a block, and whatever is numbered inside it is its tasks. An
        item that does not ("1. Trách nhiệm của các cơ quan:", or a collective heading over
        lettered bodies such as "1. Các sở, ban, ngành:") is looked into for blocks one level down.
        """
        remaining = levels or tuple(name for name, _ in _LEVELS)
        present = [
            (depth, found)
            for depth, level in enumerate(remaining)
            if (found := _items(paras, level))
        ]
        if not present:
            return self._bullet_blocks(paras)
        depth, items = present[0]
        deeper = remaining[depth + 1 :]
        blocks = self.find_blocks(paras[: items[0][0]], deeper) if items[0][0] else []
        bounds = [index for index, _ in items] + [len(paras)]
        for (index, match), stop in zip(items, bounds[1:], strict=True):
            body = paras[index + 1 : stop]
            inner = self.find_blocks(body, deeper) if deeper else []
            named = self._agency_item(match)
            group_heading = len(inner) >= 2 and not _text_after_heading(match["rest"])
            if inner and (not named or group_heading):
                blocks.extend(inner)
            elif named or self._assignment_heading(match):
                blocks.append(Block(match["ord"], match["rest"].strip(), paras[index].lines, body))
        return blocks

    def _assignment_heading(self, match: re.Match[str]) -> bool:
        if self._agency_item(match):
            return True
        rest = match["rest"]
        head = re.split(r"[:.]\s|:$|\.$", rest, maxsplit=1)[0].strip()
        # A short name the registry does not know ("5.Tư pháp.") still heads a block.
        return 0 < len(head.split()) <= 8 and not _GENERAL_CLAUSE.match(head) and head[:1].isupper()

    def _bullet_blocks(self, paras: list[Paragraph]) -> list[Block]:
        """Sections whose assignments are bullets: "- Phòng Y tế: chủ trì ..."."""
        blocks: list[Block] = []
        for paragraph in paras:
            match = _BULLET.match(paragraph.text)
            if not match:
                continue
            rest = match["rest"]
            head = rest.split(":", 1)[0]
            if ":" in rest and len(head.split()) <= 25 and self.looks_like_agency(head):
                blocks.append(Block(str(len(blocks) + 1), rest, paragraph.lines))
        return blocks

    # -- tasks --

    def tasks_of(self, lead_in: str | None, body: list[Paragraph]) -> list[TaskItem]:
        texts: list[str] = []
        if lead_in:
            texts.append(lead_in)
        for paragraph in body:
            text = paragraph.text
            bullet = _BULLET.match(text)
            for pattern in (_BULLET, _LETTERED, _SUBNUMBERED, _NUMBERED):
                match = pattern.match(text)
                if match:
                    text = match["rest"]
                    break
            if " | " in text:
                continue  # a table row: data about the tasks, not a task
            if not bullet and text.endswith(":") and len(text.split()) <= 6:
                continue  # a label over the items that follow ("a) Về kinh phí:")
            texts.append(text)
        items = []
        for text in texts:
            clean = " ".join(text.split()).strip()
            if clean and re.search(r"\w", clean):
                items.append(
                    TaskItem(text=clean, role=task_role(clean), co_agencies=self.co_agencies(clean))
                )
        return items

    def co_agencies(self, text: str) -> list[str]:
        found: list[str] = []
        for match in _COWORK.finditer(text):
            tail = text[match.end() :]
            tail = re.split(r"[;.:(]|\s(?:để|nhằm|trong|theo|tại|đối\s+với)\s", tail, maxsplit=1)[0]
            for name in self._leading_names(tail):
                if name not in found:
                    found.append(name)
        return found

    def _leading_names(self, tail: str) -> list[str]:
        pieces = re.split(r",\s*|\s+và\s+", tail)
        names: list[str] = []
        for piece in pieces:
            piece = piece.strip()
            if not piece:
                continue
            if not self.looks_like_agency(piece):
                if names and not piece[:1].isupper() and len(piece.split()) <= 3:
                    names[-1] = f"{names[-1]}, {piece}"  # "các phòng, ban, ngành"
                    continue
                break
            cut = _STOP_VERB.search(piece)
            names.append(piece[: cut.start()].strip() if cut else piece)
            if cut:
                break
        return [n for n in names if n]

    # -- tables --

    def cell_members(self, cell: str) -> tuple[list[str], bool]:
        """The bodies a table cell names. A ";" always separates two of them in a cell, so each
        part is split on its own ("Công an huyện; Văn phòng HĐND và UBND huyện")."""
        members: list[str] = []
        confident = True
        for part in re.split(r"\s*;\s*", cell):
            if re.search(r"\w", part):
                found, sure = self.split_members(part)
                members += [m for m in found if m not in members]
                confident = confident and sure
        return members, confident

    def add_table_tasks(
        self,
        found: list[tables.Table],
        assignments: list[Assignment],
        *,
        start_year: int | None,
        end_year: int | None,
    ) -> None:
        """Each task row as a task of the body its lead cell names, grouped per body.

        Rows whose lead cell names the same bodies as a block or an earlier row join that
        assignment, so each body has one list of tasks as in a prose plan. The bodies in the
        "phối hợp" cell are the task's co_agencies, as "phối hợp với …" is in prose: they get no
        task of their own.
        """
        by_members = {_members_key(a.members): a for a in assignments}
        for table in found:
            for row in table.rows:
                members, confident = self.cell_members(row.lead)
                task = TaskItem(
                    text=row.task,
                    role=table.role,
                    co_agencies=self.cell_members(row.co)[0],
                    due_text=row.due or None,
                    due_on=tables.due_date(row.due, start_year=start_year, end_year=end_year),
                )
                key = _members_key(members)
                if key in by_members:
                    by_members[key].tasks.append(task)
                    continue
                ordinal = (row.number or str(len(assignments) + 1))[:16]
                if not confident:
                    self.warnings.append(
                        t("warn.low_confidence_split", ordinal=ordinal, heading=row.lead)
                    )
                canonical = [self.canonical(m) for m in members]
                for member, name in zip(members, canonical, strict=True):
                    if name is None and not self.is_group(member):
                        self.warnings.append(t("warn.unknown_agency", ordinal=ordinal, name=member))
                assignment = Assignment(
                    ordinal=ordinal,
                    heading=row.lead,
                    members=members,
                    canonical=canonical,
                    is_request=bool(_REQUEST.match(row.lead)),
                    is_lead=False,
                    tasks=[task],
                )
                assignments.append(assignment)
                by_members[key] = assignment


def _members_key(members: list[str]) -> tuple[str, ...]:
    return tuple(sorted(fold(member) for member in members))


_COWORK = re.compile(r"(?:phối\s+hợp|cùng)\s+(?:chặt\s+chẽ\s+)?(?:với\s+)?(?=\S)", re.I)
_STOP_VERB = re.compile(
    r"\s(?:tổ\s+chức|triển\s+khai|thực\s+hiện|theo\s+dõi|kiểm\s+tra|hướng\s+dẫn|tuyên\s+truyền"
    r"|xây\s+dựng|rà\s+soát|giám\s+sát|tham\s+mưu|đề\s+xuất|vận\s+động|thường\s+xuyên|tổng\s+hợp"
    r"|đánh\s+giá|giải\s+quyết|cấp|có\s+liên\s+quan\s+(?=\w)|liên\s+quan\s+(?=\w)|đẩy\s+mạnh|nhận"
    r"|khảo\s+sát|chỉ\s+đạo|phổ\s+biến|lồng\s+ghép|huy\s+động|bố\s+trí|quản\s+lý)\b",
    re.I,
)


def task_role(text: str) -> Role:
    """chu_tri when the body leads the task, phoi_hop when it supports, else thuc_hien."""
    clause = plain(re.split(r"[;.]", text, maxsplit=1)[0])[:160]
    lead = re.search(r"\b(?:chu tri|thuong truc|dau moi)\b", clause)
    support = re.search(r"\b(?:phoi hop|tham gia)\b", clause)
    if lead and (not support or lead.start() < support.start()):
        return "chu_tri"
    if support and support.start() < 40:
        return "phoi_hop"
    return "thuc_hien"


# --- lead agency and report recipient -----------------------------------------------------------

_LEAD_PHRASE = re.compile(
    r"(?:^|là\s+|làm\s+|giữ\s+vai\s+trò\s+)(?:cơ\s+quan|bộ\s+phận|đơn\s+vị)\s+"
    r"(?:thường\s+trực|đầu\s+mối|chủ\s+trì(?:\s+quản\s+lý\s+chương\s+trình|\s+tham\s+mưu)?)"
    r"|chủ\s+trì\s+quản\s+lý\s+chương\s+trình|thường\s+trực\s+(?:của\s+)?ban\s+chỉ\s+đạo"
    r"|(?:^|\b(?:là|làm)\s+)đầu\s+mối\s+(?:tham\s+mưu|theo\s+dõi|tổng\s+hợp|giúp)"
    r"|\(\s*(?:cơ\s+quan|đơn\s+vị|bộ\s+phận)\s+thường\s+trực\s*\)",
    re.I,
)
_REPORT_VIA = re.compile(r"\(\s*qua\s+(?P<name>[^)]+?)\s*\)", re.I)
_REPORT_TO = re.compile(r"báo\s+cáo(?:[^.;]{0,80}?)\s(?:về|đến|cho|gửi)\s+(?P<name>[^.;()]+)", re.I)
_SUPERIOR = re.compile(
    r"^(?:Ủy|Uỷ)\s+ban\s+nhân\s+dân|^UBND|^HĐND|^Hội\s+đồng\s+nhân\s+dân|^Huyện\s+ủy|^Tỉnh\s+ủy"
    r"|^Ban\s+Thường\s+vụ|^Thường\s+trực|^Ban\s+Chỉ\s+đạo|^Sở\s|^Bộ\s|^Chủ\s+tịch",
    re.I,
)
_NAME_END = re.compile(
    r"\s(?:để|tổng\s+hợp|theo|trước|chậm|định\s+kỳ|hoặc|kịp\s+thời|nhằm|xem\s+xét|trình)\b", re.I
)


def _lead_score(assignment: Assignment, first_text: str) -> int:
    head_text = assignment.heading
    if re.search(r"\((?:[^)]*)(?:thường\s+trực|chủ\s+trì)", head_text, re.I):
        return 3
    early = [first_text] + [task.text for task in assignment.tasks[:3]]
    if any(_LEAD_PHRASE.search(text) for text in early):
        return 2
    return 0


_POST_WORDS = re.compile(r"^(?:phòng|công chức|bộ phận|cán bộ|ban|sở|văn phòng)\s+")


def _match_member(name: str, assignments: list[Assignment], registry: Registry) -> str | None:
    """The member, as written in its block, that names the same body as `name`.

    Plans name a body by its full title in one place and by its field alone in another
    ("công chức Lao động - Thương binh và Xã hội" / "Lao động - Thương binh và Xã hội").
    """
    agency = registry.match(name)
    key = fold(name)
    short = _POST_WORDS.sub("", key)
    for assignment in assignments:
        for member, canonical in zip(assignment.members, assignment.canonical, strict=True):
            if fold(member) == key or (agency and canonical == agency.canonical):
                return member
    for assignment in assignments:
        for member in assignment.members:
            if _POST_WORDS.sub("", fold(member)) == short:
                return member
    return None


def _report_recipient(texts: list[str]) -> str | None:
    for text in texts:
        via = _REPORT_VIA.search(text)
        if via and re.search(r"báo\s+cáo", text, re.I):
            return via["name"].strip()
    for text in texts:
        for found in _REPORT_TO.finditer(text):
            name = _NAME_END.split(found["name"], maxsplit=1)[0].strip(" ,")
            if name and not _SUPERIOR.match(name) and name[:1].isupper():
                return name
    return None


# --- the whole parse ----------------------------------------------------------------------------

_VIETNAMESE_LETTERS = re.compile(
    r"[ăâđêôơưàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ]", re.I
)


def _looks_vietnamese(paras: list[Paragraph]) -> bool:
    sample = " ".join(p.text for p in paras[:200])
    letters = sum(1 for c in sample if c.isalpha())
    return letters > 0 and len(_VIETNAMESE_LETTERS.findall(sample)) >= 0.05 * letters


def parse_paragraphs(
    raw_lines: list[str],
    paras: list[Paragraph],
    *,
    source: SourceInfo,
    registry: Registry | None = None,
    calendar: dict[str, str] | None = None,
) -> PlanExtraction:
    parser = Parser(registry or default_registry(), calendar or DEFAULT_CALENDAR)
    sections = find_sections(paras)
    appendix = appendix_start(paras)
    candidates = [s for s in sections if s.kind in ("implementation", "assignment")]
    if not any(s.kind == "implementation" for s in candidates):
        candidates += _implementation_subsections(paras)
    if appendix is not None:
        # An appendix's own titles ("NHIỆM VỤ CỤ THỂ …") are not the plan's sections.
        candidates = [s for s in candidates if s.start < appendix]
    appended = tables.find_tables([p.text for p in paras[appendix:]]) if appendix else []
    scored: list[tuple[int, int, Section, list[Block], list[tables.Table]]] = []
    for section in candidates:
        inner = paras[section.start + 1 : section.end]
        blocks = parser.find_blocks(inner)
        found = tables.find_tables([p.text for p in inner])
        rows = sum(len(table.rows) for table in found)
        # Prefer the section with the most blocks and task rows; on a tie the implementation
        # section, which is also where an appendix's tables belong.
        scored.append(
            (len(blocks) + rows, section.kind == "implementation", section, blocks, found)
        )
    scored.sort(key=lambda entry: (entry[0], entry[1]), reverse=True)
    if not scored or (scored[0][0] == 0 and not appended):
        if not _looks_vietnamese(paras):
            raise PlanError("parse.not_vietnamese")
        if scored:
            raise PlanError("parse.no_assignments", heading=scored[0][2].heading)
        raise PlanError("parse.no_section")
    _, _, section, blocks, found = scored[0]

    assignments: list[Assignment] = []
    first_texts: list[str] = []
    for block in blocks:
        heading, lead_in, sure = parser.split_heading(block.first, block.first_lines)
        members, confident = parser.split_members(heading)
        if not (sure and confident):
            parser.warnings.append(
                t("warn.low_confidence_split", ordinal=block.ordinal, heading=heading)
            )
        tasks = parser.tasks_of(lead_in, block.body)
        if not tasks:
            parser.warnings.append(t("warn.no_tasks", ordinal=block.ordinal))
            tasks = [TaskItem(text=heading, role="thuc_hien", co_agencies=[])]
        canonical = [parser.canonical(m) for m in members]
        for member, name in zip(members, canonical, strict=True):
            if name is None and not parser.is_group(member):
                parser.warnings.append(t("warn.unknown_agency", ordinal=block.ordinal, name=member))
        assignments.append(
            Assignment(
                ordinal=block.ordinal,
                heading=heading,
                members=members,
                canonical=canonical,
                is_request=bool(_REQUEST.match(heading)),
                is_lead=False,
                tasks=tasks,
            )
        )
        first_texts.append(block.first)

    body_start = sections[0].start if sections else 0
    meta = metadata.plan_metadata(raw_lines, paras, body_start)
    parser.add_table_tasks(
        found + appended, assignments, start_year=meta.start_year, end_year=meta.end_year
    )
    first_texts += [a.heading for a in assignments[len(first_texts) :]]

    scores = [_lead_score(a, first) for a, first in zip(assignments, first_texts, strict=True)]
    lead_agency: str | None = None
    if max(scores) > 0:
        lead_index = scores.index(max(scores))
        assignments[lead_index].is_lead = True
        lead_agency = assignments[lead_index].members[0]

    tail = [p.text for p in paras[section.start :]]
    recipient = _report_recipient(tail)
    report_to: str | None = None
    if recipient:
        report_to = _match_member(recipient, assignments, parser.registry) or recipient
    if lead_agency is None and report_to is not None:
        lead_member = _match_member(report_to, assignments, parser.registry)
        for assignment in assignments:
            if lead_member is not None and lead_member in assignment.members:
                assignment.is_lead = True
                lead_agency = lead_member
                break
    if report_to is None:
        report_to = lead_agency
    if lead_agency is None:
        parser.warnings.append(t("warn.no_lead"))

    if meta.issued_on is None:
        parser.warnings.append(t("warn.no_date"))
    regime = reporting.find_reporting([p.text for p in paras[body_start:]])
    deadlines, deadline_warnings = reporting.deadlines(
        regime,
        start_year=meta.start_year,
        end_year=meta.end_year,
        calendar=parser.calendar,
        not_before=meta.issued_on,
    )
    return PlanExtraction(
        schema=SCHEMA_ID,
        source=source,
        plan=meta,
        implementation_section=SectionInfo(
            numeral=section.numeral, heading=section.heading, line=paras[section.start].line
        ),
        lead_agency=lead_agency,
        report_to=report_to,
        assignments=assignments,
        reporting=[item.entry for item in regime],
        deadlines=deadlines,
        warnings=parser.warnings + deadline_warnings,
    )


def parse_document(
    document: RawDocument,
    *,
    filename: str,
    sha256: str,
    registry: Registry | None = None,
    calendar: dict[str, str] | None = None,
) -> PlanExtraction:
    if sum(len(line) for line in document.lines) > MAX_TEXT_CHARS:
        raise PlanError("parse.too_long", limit=f"{MAX_TEXT_CHARS:,}".replace(",", "."))
    paras = paragraphs(document.lines, document.hard_wrapped)
    source = SourceInfo(filename=filename, sha256=sha256, format=document.format)
    return parse_paragraphs(
        document.lines, paras, source=source, registry=registry, calendar=calendar
    )


def parse_bytes(
    data: bytes,
    filename: str,
    *,
    registry: Registry | None = None,
    calendar: dict[str, str] | None = None,
) -> PlanExtraction:
    document = read_bytes(data, filename)
    sha256 = hashlib.sha256(data).hexdigest()
    return parse_document(
        document, filename=filename, sha256=sha256, registry=registry, calendar=calendar
    )


def parse_file(
    path: Path, *, registry: Registry | None = None, calendar: dict[str, str] | None = None
) -> PlanExtraction:
    from service.plans.readers import read_file

    document = read_file(path)
    sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    return parse_document(
        document, filename=path.name, sha256=sha256, registry=registry, calendar=calendar
    )
