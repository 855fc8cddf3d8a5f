"""Rules of the agencies domain: seeding from the registry, resolving names, editing, groups.

Every agency has an alias row for its own name, so resolving a spelling is one lookup of its
folded key; the unique key makes it impossible for one spelling to mean two agencies.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from service.agencies import divisions, repository
from service.agencies.schemas import (
    AgencyCreate,
    AgencyRead,
    AgencyUpdate,
    CommunesImport,
    CommunesResult,
    SyncResult,
)
from service.errors import AppError
from service.i18n import t
from service.models import Agency, AgencyKind, AgencyLevel, User
from service.pagination import Page, PageParams
from service.plans.registry import Registry, default_registry, fold

# The registry file's levels and kinds (Vietnamese codes) as the database's enums.
REGISTRY_LEVELS = {
    "trung_uong": AgencyLevel.CENTRAL,
    "tinh": AgencyLevel.PROVINCE,
    "huyen": AgencyLevel.DISTRICT,
    "xa": AgencyLevel.COMMUNE,
}
REGISTRY_KINDS = {
    "ubnd": AgencyKind.PEOPLE_COMMITTEE,
    "bo": AgencyKind.DEPARTMENT,
    "so": AgencyKind.DEPARTMENT,
    "phong": AgencyKind.DEPARTMENT,
    "ban": AgencyKind.DEPARTMENT,
    "van_phong": AgencyKind.DEPARTMENT,
    "thanh_tra": AgencyKind.DEPARTMENT,
    "chi_cuc": AgencyKind.DEPARTMENT,
    "mttq": AgencyKind.MASS_ORGANISATION,
    "hoi": AgencyKind.MASS_ORGANISATION,
    "doan_the": AgencyKind.MASS_ORGANISATION,
    "trung_tam": AgencyKind.PUBLIC_SERVICE,
    "truong": AgencyKind.PUBLIC_SERVICE,
    "tram": AgencyKind.PUBLIC_SERVICE,
    "nganh_doc": AgencyKind.PUBLIC_SERVICE,
    "bao_chi": AgencyKind.PUBLIC_SERVICE,
    "cong_chuc": AgencyKind.OFFICIAL,
}
# Longest folded key the alias column holds.
MAX_KEY = 255
# A parent chain longer than this is treated as a cycle (real hierarchies have 4-5 levels).
MAX_DEPTH = 50


def to_read(agency: Agency) -> AgencyRead:
    return AgencyRead(
        id=agency.id,
        name=agency.name,
        short_name=agency.short_name,
        level=agency.level,
        kind=agency.kind,
        parent_id=agency.parent_id,
        is_group=agency.is_group,
        head_email=agency.head_email,
        is_active=agency.is_active,
        aliases=sorted(alias.alias for alias in agency.aliases),
        member_ids=[member.id for member in agency.members],
    )


# --- resolving names ----------------------------------------------------------------------------


def resolve(
    session: Session,
    name: str,
    *,
    canonical: str | None = None,
    registry: Registry | None = None,
) -> Agency | None:
    """The active agency `name` denotes, or None.

    First the database's own spellings (exact folded alias or name), then the registry's
    matcher (abbreviations, place words, tone placement) mapped to the database by its
    canonical name. `canonical` is the parser's registry match, when it already made one.
    """
    for candidate in _resolution_candidates(name, canonical, registry or default_registry()):
        agency = repository.by_folded_key(session, key=fold(candidate))
        if agency is None:
            agency = repository.by_name(session, name=candidate)
        if agency is not None:
            return agency if agency.is_active else None
    return None


def _resolution_candidates(name: str, canonical: str | None, registry: Registry) -> list[str]:
    candidates = [name.strip()]
    if canonical:
        candidates.append(canonical)
    match = registry.match(name)
    if match is not None:
        candidates.append(match.canonical)
    return [c for i, c in enumerate(candidates) if c and c not in candidates[:i]]


def remember_alias(session: Session, *, agency: Agency, alias: str) -> bool:
    """Make `alias` resolve to `agency` from now on. False when another agency owns it."""
    key = fold(alias)
    if not key or len(key) > MAX_KEY:
        return False
    owner = repository.alias_owners(session, keys=[key]).get(key)
    if owner is None:
        repository.add_alias(session, agency=agency, alias=alias.strip(), key=key)
        session.flush()
        return True
    return owner == agency.id


# --- the registry -------------------------------------------------------------------------------


def sync_registry(
    session: Session, *, registry: Registry | None = None, actor: User | None = None
) -> SyncResult:
    """Insert or update the registry's agencies and spellings. Running it twice changes nothing.

    The registry owns level, kind and whether an agency is a group. What an administrator set
    (head e-mail, parent, retirement, extra aliases, group members) is never touched, and a
    spelling another agency already owns in the database stays with that agency.
    """
    registry = registry or default_registry()
    result = SyncResult()
    owners = repository.all_alias_owners(session)
    by_name = repository.all_by_name(session)
    by_id = {agency.id: agency for agency in by_name.values()}
    matched: list[tuple[Agency, tuple[str, ...]]] = []
    for entry in registry.agencies:
        level = REGISTRY_LEVELS.get(entry.level, AgencyLevel.DISTRICT)
        kind = REGISTRY_KINDS.get(entry.kind, AgencyKind.OTHER)
        agency = by_name.get(entry.canonical) or by_id.get(owners.get(fold(entry.canonical), -1))
        if agency is None:
            agency = Agency(name=entry.canonical, level=level, kind=kind, is_group=entry.group)
            session.add(agency)
            by_name[agency.name] = agency
            result.created += 1
        elif (agency.level, agency.kind, agency.is_group) != (level, kind, entry.group):
            agency.level, agency.kind, agency.is_group = level, kind, entry.group
            result.updated += 1
        matched.append((agency, tuple(dict.fromkeys((entry.canonical, *entry.aliases)))))
    # One flush for every new agency (their ids), then their spellings.
    session.flush()
    for agency, spellings in matched:
        for spelling in spellings:
            key = fold(spelling)
            owner = owners.get(key)
            if owner is None:
                repository.add_alias(session, agency=agency, alias=spelling, key=key)
                owners[key] = agency.id
                result.aliases_added += 1
            elif owner != agency.id:
                result.conflicts.append(spelling)
    session.flush()
    if result.created or result.updated or result.aliases_added:
        repository.add_audit(
            session,
            actor=actor,
            action="agency.sync",
            entity_id=None,
            detail=result.model_dump(),
        )
    return result


def ensure_seeded(session: Session, *, registry: Registry | None = None) -> SyncResult | None:
    """Load the registry when the database has no agencies at all (a fresh installation)."""
    if repository.count(session):
        return None
    return sync_registry(session, registry=registry)


# --- reading ------------------------------------------------------------------------------------


def list_agencies(
    session: Session,
    *,
    page: PageParams,
    level: AgencyLevel | None = None,
    kind: AgencyKind | None = None,
    q: str | None = None,
    is_group: bool | None = None,
    is_active: bool | None = None,
) -> Page[AgencyRead]:
    query = (q or "").strip()
    rows, total = repository.page(
        session,
        limit=page.limit,
        offset=page.offset,
        level=level,
        kind=kind,
        folded_query=fold(query) if query else None,
        raw_query=query,
        is_group=is_group,
        is_active=is_active,
    )
    return Page(items=[to_read(r) for r in rows], total=total, limit=page.limit, offset=page.offset)


def get_agency(session: Session, *, agency_id: int) -> Agency:
    agency = repository.get(session, agency_id=agency_id)
    if agency is None:
        raise AppError("agency.not_found", status=404, details={"agency_id": agency_id})
    return agency


def get_many(session: Session, *, agency_ids: set[int]) -> dict[int, Agency]:
    return repository.get_many(session, agency_ids=agency_ids)


def active_members(session: Session, *, group_ids: list[int]) -> dict[int, list[int]]:
    """{group_id: [ids of its active members]}; a group without any gets an empty list."""
    found = repository.active_members(session, group_ids=group_ids)
    return {group_id: found.get(group_id, []) for group_id in group_ids}


# --- writing ------------------------------------------------------------------------------------


def create_agency(session: Session, *, data: AgencyCreate, actor: User | None) -> Agency:
    """A new agency; its name and every alias resolve to it from now on."""
    spellings = list(dict.fromkeys((data.name, *data.aliases)))
    _check_spellings_free(session, spellings, agency_id=None)
    if repository.by_name(session, name=data.name) is not None:
        raise AppError("agency.name_taken", status=409, name=data.name)
    if data.parent_id is not None:
        get_agency(session, agency_id=data.parent_id)
    agency = repository.add(
        session,
        Agency(
            name=data.name,
            short_name=data.short_name,
            level=data.level,
            kind=data.kind,
            parent_id=data.parent_id,
            is_group=data.is_group,
            head_email=data.head_email,
        ),
    )
    for spelling in spellings:
        repository.add_alias(session, agency=agency, alias=spelling, key=fold(spelling))
    session.flush()
    repository.add_audit(
        session,
        actor=actor,
        action="agency.create",
        entity_id=agency.id,
        detail=data.model_dump(mode="json"),
    )
    session.refresh(agency)
    return agency


def update_agency(
    session: Session, *, agency_id: int, data: AgencyUpdate, actor: User | None
) -> Agency:
    agency = get_agency(session, agency_id=agency_id)
    changes = data.model_dump(mode="json", exclude_unset=True)
    old_name = agency.name
    if data.name is not None and data.name != agency.name:
        other = repository.by_name(session, name=data.name)
        if other is not None and other.id != agency.id:
            raise AppError("agency.name_taken", status=409, name=data.name)
        agency.name = data.name
    if "parent_id" in data.model_fields_set:
        _check_parent(session, agency=agency, parent_id=data.parent_id)
        agency.parent_id = data.parent_id
    if data.is_group is False and agency.is_group and agency.members:
        raise AppError("agency.group_has_members", status=422, name=agency.name)
    if data.is_group is True and repository.groups_containing(session, member_id=agency.id):
        raise AppError("agency.member_is_group", status=422, name=agency.name)
    for field in ("short_name", "level", "kind", "is_group", "head_email", "is_active"):
        if field in data.model_fields_set:
            setattr(agency, field, getattr(data, field))
    _replace_spellings(session, agency=agency, data=data, old_name=old_name)
    session.flush()
    repository.add_audit(
        session, actor=actor, action="agency.update", entity_id=agency.id, detail=changes
    )
    session.refresh(agency)
    return agency


def _replace_spellings(
    session: Session, *, agency: Agency, data: AgencyUpdate, old_name: str
) -> None:
    """Aliases after an update: those sent (or the current ones), plus the name.

    A renamed agency keeps its old name as an alias unless the aliases are sent: plans issued
    before the rename still use it.
    """
    if data.aliases is None and agency.name == old_name:
        return
    wanted = list(data.aliases) if data.aliases is not None else [a.alias for a in agency.aliases]
    wanted = list(dict.fromkeys((agency.name, *wanted)))
    keys = {fold(spelling): spelling for spelling in wanted}
    _check_spellings_free(session, wanted, agency_id=agency.id)
    for alias in list(agency.aliases):
        if alias.folded_key not in keys:
            # delete-orphan: leaving the collection deletes the row.
            agency.aliases.remove(alias)
    session.flush()
    present = {alias.folded_key for alias in agency.aliases}
    for key, spelling in keys.items():
        if key not in present:
            repository.add_alias(session, agency=agency, alias=spelling, key=key)


def _check_spellings_free(session: Session, spellings: list[str], *, agency_id: int | None) -> None:
    keys = {}
    for spelling in spellings:
        key = fold(spelling)
        if not key or len(key) > MAX_KEY:
            raise AppError("agency.bad_name", status=422, name=spelling)
        keys[key] = spelling
    for key, owner_id in repository.alias_owners(session, keys=keys).items():
        if owner_id != agency_id:
            owner = repository.get(session, agency_id=owner_id)
            raise AppError(
                "agency.alias_taken",
                status=409,
                details={"agency_id": owner_id, "alias": keys[key]},
                alias=keys[key],
                agency=owner.name if owner else owner_id,
            )


def _check_parent(session: Session, *, agency: Agency, parent_id: int | None) -> None:
    seen = {agency.id}
    current = parent_id
    for _ in range(MAX_DEPTH):
        if current is None:
            return
        if current in seen:
            raise AppError("agency.parent_cycle", status=422, name=agency.name)
        seen.add(current)
        current = get_agency(session, agency_id=current).parent_id
    raise AppError("agency.parent_cycle", status=422, name=agency.name)


# --- groups -------------------------------------------------------------------------------------


def set_members(
    session: Session, *, group_id: int, member_ids: list[int], actor: User | None
) -> Agency:
    """Make exactly `member_ids` the members of the group `group_id`."""
    group = get_agency(session, agency_id=group_id)
    if not group.is_group:
        raise AppError("agency.not_group", status=422, name=group.name)
    wanted = list(dict.fromkeys(member_ids))
    found = repository.get_many(session, agency_ids=wanted)
    missing = [i for i in wanted if i not in found]
    if missing:
        raise AppError(
            "agency.members_not_found",
            status=404,
            details={"agency_ids": missing},
            ids=", ".join(map(str, missing)),
        )
    for member_id in wanted:
        member = found[member_id]
        if member.id == group.id or member.is_group:
            raise AppError("agency.member_is_group", status=422, name=member.name)
    before = [m.id for m in group.members]
    group.members = [found[i] for i in wanted]
    session.flush()
    repository.add_audit(
        session,
        actor=actor,
        action="agency.members",
        entity_id=group.id,
        detail={"before": before, "after": wanted},
    )
    session.refresh(group)
    return group


def add_member(session: Session, *, group_id: int, member_id: int, actor: User | None) -> Agency:
    group = get_agency(session, agency_id=group_id)
    current = [m.id for m in group.members]
    if member_id in current:
        return group
    return set_members(session, group_id=group_id, member_ids=[*current, member_id], actor=actor)


def remove_member(session: Session, *, group_id: int, member_id: int, actor: User | None) -> Agency:
    group = get_agency(session, agency_id=group_id)
    current = [m.id for m in group.members]
    if member_id not in current:
        raise AppError("agency.not_member", status=404, details={"agency_id": member_id})
    remaining = [i for i in current if i != member_id]
    return set_members(session, group_id=group_id, member_ids=remaining, actor=actor)


# --- commune-level units from the official list -------------------------------------------------

# The registry's group for every commune of the locality ("Ủy ban nhân dân các xã, phường, thị
# trấn", alias "... các xã, phường"): since 2025 a province's units are xã, phường and đặc khu.
DEFAULT_COMMUNE_GROUP = "Ủy ban nhân dân các xã, phường"
# The registry's entry for "the province's committee" when the province's own is not there.
PROVINCE_COMMITTEE = "Ủy ban nhân dân tỉnh"


def import_communes(
    session: Session, *, data: CommunesImport, actor: User | None
) -> CommunesResult:
    """One People's Committee agency per commune-level unit of a province, all members of a group.

    Existing agencies are found by name or spelling and reused, so running it twice changes
    nothing. What an administrator owns (head e-mail, retirement, other members of the group,
    spellings of other agencies) is left alone. With `dry_run` nothing is written.
    """
    try:
        province = divisions.find_province(data.province)
    except divisions.UnknownProvince as error:
        raise _unknown_province(error) from None
    group = _commune_group(session, data.group)
    parent = _province_committee(session, province)
    units = province.units
    ambiguous = divisions.ambiguous_keys(units)
    spellings = {
        unit.code: [s for s in dict.fromkeys(unit.spellings()) if fold(s) not in ambiguous]
        for unit in units
    }
    owners = repository.alias_owners(
        session, keys={fold(s) for names in spellings.values() for s in names}
    )
    found = _existing_units(session, units, owners)
    result = CommunesResult(
        province=province.name,
        province_code=province.code,
        data_version=divisions.data_version(),
        units=len(units),
        group_id=group.id,
        group=group.name,
        parent_id=parent.id if parent else None,
        parent=parent.name if parent else None,
        dry_run=data.dry_run,
    )

    new: dict[int, Agency] = {}
    changed: list[Agency] = []
    for unit in units:
        agency = found.get(unit.code)
        if agency is None:
            result.created.append(unit.committee)
            continue
        if agency.is_group:
            raise AppError("agency_units.unit_is_group", status=409, name=agency.name)
        wrong_type = (agency.level, agency.kind) != (
            AgencyLevel.COMMUNE,
            AgencyKind.PEOPLE_COMMITTEE,
        )
        if wrong_type or (agency.parent_id is None and parent is not None):
            result.updated.append(agency.name)
            changed.append(agency)
        if not agency.is_active:
            result.inactive.append(agency.name)
    if not data.dry_run:
        for unit in units:
            if unit.code not in found:
                new[unit.code] = Agency(
                    name=unit.committee,
                    short_name=unit.short_name,
                    level=AgencyLevel.COMMUNE,
                    kind=AgencyKind.PEOPLE_COMMITTEE,
                    parent_id=parent.id if parent else None,
                )
                session.add(new[unit.code])
        for agency in changed:
            agency.level, agency.kind = AgencyLevel.COMMUNE, AgencyKind.PEOPLE_COMMITTEE
            if agency.parent_id is None and parent is not None:
                agency.parent_id = parent.id
        session.flush()

    agencies = {**found, **new}
    for unit in units:
        agency = agencies.get(unit.code)
        # In a dry run a unit to be created has no id yet: its code stands in for one.
        owner_id = agency.id if agency is not None else -unit.code
        for spelling in spellings[unit.code]:
            key = fold(spelling)
            owner = owners.get(key)
            if owner is None:
                owners[key] = owner_id
                result.aliases_added += 1
                if agency is not None and not data.dry_run:
                    repository.add_alias(session, agency=agency, alias=spelling, key=key)
            elif owner != owner_id:
                result.conflicts.append(spelling)

    unit_ids = {agency.id for agency in found.values()}
    current = {member.id for member in group.members}
    result.members_added = len(units) - len(unit_ids & current)
    result.other_members = [m.name for m in group.members if m.id not in unit_ids]
    if data.dry_run:
        return result
    session.flush()
    wanted = [*group.members, *(a for a in agencies.values() if a.id not in current)]
    group.members = wanted
    session.flush()
    if result.created or result.updated or result.aliases_added or result.members_added:
        repository.add_audit(
            session,
            actor=actor,
            action="agency.communes",
            entity_id=group.id,
            detail={
                "province": province.name,
                "province_code": province.code,
                "data_version": result.data_version,
                "group_id": group.id,
                "created": [new[u.code].id for u in units if u.code in new],
                "updated": [a.id for a in changed],
                "aliases_added": result.aliases_added,
                "members_added": result.members_added,
            },
        )
    return result


def _unknown_province(error: divisions.UnknownProvince) -> AppError:
    if error.suggestions:
        hint = t("agency_units.close_names", names=_quoted(error.suggestions))
    else:
        hint = t("agency_units.all_names", names=_quoted(divisions.province_names()))
    return AppError(
        "agency_units.unknown_province",
        status=422,
        details={"province": error.query, "suggestions": error.suggestions},
        query=error.query,
        hint=hint,
    )


def _quoted(names: list[str]) -> str:
    return ", ".join(f"“{name}”" for name in names)


def _commune_group(session: Session, name: str | None) -> Agency:
    wanted = name or DEFAULT_COMMUNE_GROUP
    agency = resolve(session, wanted)
    if agency is None:
        raise AppError("agency_units.group_not_found", status=404, name=wanted)
    if not agency.is_group:
        raise AppError("agency.not_group", status=422, name=agency.name)
    # Loaded with its members.
    return get_agency(session, agency_id=agency.id)


def _province_committee(session: Session, province: divisions.ProvinceUnits) -> Agency | None:
    """The province's own committee in the registry, else the registry's "Ủy ban nhân dân tỉnh"
    (which is the province's committee in a deployment of that province)."""
    for spelling in (*province.committee_spellings(), PROVINCE_COMMITTEE):
        agency = repository.by_folded_key(session, key=fold(spelling))
        if agency is None:
            agency = repository.by_name(session, name=spelling)
        if agency is not None and agency.is_active and not agency.is_group:
            return agency
    return None


def _existing_units(
    session: Session, units: tuple[divisions.Unit, ...], owners: dict[str, int]
) -> dict[int, Agency]:
    """{unit code: its agency} for units the registry already has: by name first, then by the
    spelling with the unit word. An agency named after one unit is never taken for another."""
    by_name = repository.by_names(session, names=[unit.committee for unit in units])
    found = {unit.code: by_name[unit.committee] for unit in units if unit.committee in by_name}
    used = {agency.id for agency in found.values()}
    candidates = {
        unit.code: [owners[k] for k in (fold(unit.committee), fold(unit.short_name)) if k in owners]
        for unit in units
        if unit.code not in found
    }
    owned = repository.get_many(session, agency_ids={i for ids in candidates.values() for i in ids})
    for unit in units:
        for agency_id in candidates.get(unit.code, []):
            agency = owned.get(agency_id)
            if agency is not None and agency.id not in used and agency.name not in by_name:
                found[unit.code] = agency
                used.add(agency.id)
                break
    return found
