"""Reported figures from the seed articles, as validated data.

Every number the model is calibrated or validated against lives in one CSV,
`seeds/reported_figures.csv`, one row per reported figure, each citing the seed article (and the
Chinese phrase) it comes from. Reported counts are rounded, of mixed vintage and sometimes
inconsistent, so each row carries a tolerance and a one-sentence reading; this module refuses a
file that is malformed or that contradicts itself, so calibration never silently fits garbage.

Semantics of `tier`: a tier counts firms holding AT LEAST that tier, the way officials count
(the 98,000 SRDI SMEs include the 12,000 little giants): T2 = SRDI incl. little giants, T1 =
innovative SMEs incl. higher tiers; ALL = the whole modelled pool (tech-based SMEs); HTE =
high-tech-enterprise title holders; LISTING = new listings.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import math
import os
import re
from pathlib import Path

import pandas as pd

from sim.core.errors import InputError
from sim.core.paths import REPO_ROOT, resolve_path
from sim.core.schema import SimConfig

__all__ = [
    "COLUMNS",
    "OPTIONAL_COLUMNS",
    "REGIONS",
    "TIERS",
    "KINDS",
    "USES",
    "DEFAULT_PATH",
    "load_reported_figures",
    "configured_figures",
    "region_figures",
    "figures_for",
]

COLUMNS: tuple[str, ...] = (
    "id",
    "region",
    "tier",
    "date",
    "value",
    "kind",
    "use",
    "tolerance",
    "seed_file",
    "quote",
    "reading",
)
# rounded_to (optional, last): the unit a quote rounds its figure to ("1.2万" -> 1000: the figure is
# known to +/- 500), blank when exact; a check judges the simulated interval against that range
OPTIONAL_COLUMNS: tuple[str, ...] = ("rounded_to",)
REGIONS: tuple[str, ...] = ("chongqing", "national", "beijing", "shenzhen", "shanghai", "shandong")
TIERS: tuple[str, ...] = ("ALL", "T1", "T2", "T3", "HTE", "LISTING")
# target: a planned stock level at the date; target_added: a planned number of additions over
# the plan period ending at the date (e.g. the 2018 "万千百十" plan), never drawn as a stock level;
# review_pass: the share of a batch of titles that passed its first review in the year of the date
# (MIIT's little-giant batches: passed / titles granted validity years before), a number in (0, 1];
# review_due: the number of titles of the tier falling due for review in the year of the date
KINDS: tuple[str, ...] = ("stock", "flow", "target", "target_added", "review_pass", "review_due")
USES: tuple[str, ...] = ("calibrate", "validate", "context")

DEFAULT_PATH = REPO_ROOT / "seeds" / "reported_figures.csv"

_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_]*$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SEED_RE = re.compile(r"^\d{3}_[0-9a-f]{16}\.txt$")
_STR_COLUMNS = ("id", "region", "tier", "kind", "use", "seed_file", "quote", "reading")
# the years a run can simulate (sim.core.schema.Year); a figure outside them can be neither charted nor fitted
FIRST_DATE, LAST_DATE = _dt.date(1990, 1, 1), _dt.date(2100, 12, 31)


def _display(path: Path, given: str | os.PathLike | None) -> str:
    """Name the file the way the user knows it: repo-relative for the default, as given otherwise."""
    if given is None:
        try:
            return path.relative_to(REPO_ROOT).as_posix()
        except ValueError:
            return str(path)
    return os.fspath(given)


def _one_of(options: tuple[str, ...]) -> str:
    return "must be one of " + ", ".join(options)


def _short(text: str, limit: int = 60) -> str:
    """Quote what was found, on one line and not too long, so the message stays a single line."""
    text = text.replace("\r", "\\r").replace("\n", "\\n")
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return repr(text)


def _read_text(path: Path, name: str) -> str:
    if not path.exists():
        raise InputError(f"{name}: file not found (expected the reported-figures CSV)")
    if not path.is_file():
        raise InputError(f"{name}: not a file (expected the reported-figures CSV)")
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(f"{name} line {line}: file must be UTF-8 text (got byte 0x{raw[exc.start]:02x})") from None


def _check_header(header: list[str], name: str) -> tuple[str, ...]:
    """The file's columns: exactly COLUMNS, optionally followed by OPTIONAL_COLUMNS."""
    got = [h.strip() for h in header]
    if got in (list(COLUMNS), list(COLUMNS + OPTIONAL_COLUMNS)):
        return tuple(got)
    expected = ",".join(COLUMNS) + f" (then, optionally, {','.join(OPTIONAL_COLUMNS)})"
    missing = [c for c in COLUMNS if c not in got]
    extra = [c for c in got if c not in COLUMNS + OPTIONAL_COLUMNS]
    dupes = sorted({c for c in got if got.count(c) > 1})
    if missing:
        what = "missing column(s) " + ", ".join(missing)
    elif extra:
        what = "unexpected column(s) " + ", ".join(_short(c) for c in extra)
    elif dupes:
        what = "repeated column(s) " + ", ".join(dupes)
    else:
        what = "columns out of order"
    raise InputError(f"{name} line 1: header: {what}; must be exactly {expected} (got {_short(','.join(got), 200)})")


def _parse_number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _check_row(fields: dict[str, str], where: str) -> tuple[_dt.date, float, float, float]:
    """Check one row's fields on their own; return the parsed date, value, tolerance and rounding
    unit (0 when the figure is exact or the file has no rounded_to column)."""

    def bad(column: str, rule: str, got: str) -> InputError:
        return InputError(f"{where}: {column}: {rule} (got {_short(got)})")

    for column in fields:
        if "\n" in fields[column] or "\r" in fields[column]:
            raise bad(column, "must fit on one line", fields[column])

    if not fields["id"]:
        raise bad("id", "must not be empty", fields["id"])
    if not _ID_RE.match(fields["id"]):
        raise bad("id", "must be a slug of lowercase letters, digits and underscores", fields["id"])
    if fields["region"] not in REGIONS:
        raise bad("region", _one_of(REGIONS), fields["region"])
    if fields["tier"] not in TIERS:
        raise bad("tier", _one_of(TIERS), fields["tier"])

    date_text = fields["date"]
    try:
        if not _DATE_RE.match(date_text):
            raise ValueError
        date = _dt.date.fromisoformat(date_text)
    except ValueError:
        raise bad("date", "must be an ISO date YYYY-MM-DD", date_text) from None
    if not FIRST_DATE <= date <= LAST_DATE:
        raise bad("date", f"must lie between {FIRST_DATE} and {LAST_DATE}", date_text)

    value = _parse_number(fields["value"])
    if value is None:
        raise bad("value", "must be a number", fields["value"])
    if not math.isfinite(value):
        raise bad("value", "must be a finite number", fields["value"])
    if value < 0:
        raise bad("value", "must not be negative (a count)", fields["value"])

    if fields["kind"] not in KINDS:
        raise bad("kind", _one_of(KINDS), fields["kind"])
    if fields["use"] not in USES:
        raise bad("use", _one_of(USES), fields["use"])
    if fields["kind"].startswith("target") and fields["use"] == "calibrate":
        raise bad("use", "a target is never fitted: must be context or validate when kind is target", fields["use"])

    if fields["kind"] == "review_pass" and not 0 < value <= 1:
        raise bad("value", "must be a share in (0, 1] when kind is review_pass", fields["value"])

    tolerance = _parse_number(fields["tolerance"])
    if tolerance is None or not math.isfinite(tolerance) or not 0 < tolerance <= 1:
        raise bad("tolerance", "must be a relative tolerance in (0, 1]", fields["tolerance"])

    seed = fields["seed_file"]
    if not (_SEED_RE.match(seed) or (seed.startswith("public:") and len(seed) > len("public:"))):
        raise bad("seed_file", "must be a seed file name like 000_c7b37dfef482b931.txt or start with public:", seed)
    if not fields["quote"]:
        raise bad("quote", "must not be empty (the phrase the figure comes from)", fields["quote"])
    if not fields["reading"]:
        raise bad("reading", "must not be empty (how the model reads the figure)", fields["reading"])
    return date, value, tolerance, _rounding_unit(fields, bad)


def _rounding_unit(fields: dict[str, str], bad) -> float:
    """The unit a count's quote rounds to (rounded_to), 0 when blank or absent: exact."""
    rounded = fields.get("rounded_to", "")
    unit = _parse_number(rounded) if rounded else 0.0
    if unit is None or not math.isfinite(unit) or unit < 0 or (unit and fields["kind"] == "review_pass"):
        raise bad("rounded_to", "must be blank or 0 (exact) or the positive unit the quote rounds a count "
                  "to, e.g. 1000 for 1.2万", rounded)
    return unit


def load_reported_figures(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """Load and strictly validate the reported figures; raise `InputError` naming file, line and column.

    Strict because these rows decide what calibration fits: a typo in a tier or a date would
    otherwise silently move the target. Returns one row per figure, columns COLUMNS then
    `rounded_to` (0 when exact or absent from the file), with `date` as Timestamp, `value`,
    `tolerance` and `rounded_to` as float and the rest as str.
    """
    file = DEFAULT_PATH if path is None else Path(path)
    name = _display(file, path)
    text = _read_text(file, name)
    if not text.strip():
        raise InputError(f"{name} line 1: file is empty; must start with the header {','.join(COLUMNS)}")

    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except csv.Error as exc:
        raise InputError(f"{name} line 1: header: not valid CSV ({exc})") from None
    columns = _check_header(header, name)
    records = _records(reader, name, columns)
    if not records:
        raise InputError(f"{name} line 2: file has a header but no figures; must have at least one row")

    frame = pd.DataFrame.from_records(records, columns=list(COLUMNS + OPTIONAL_COLUMNS))
    frame["date"] = pd.to_datetime(frame["date"]).astype("datetime64[ns]")
    frame["value"] = frame["value"].astype(float)
    frame["tolerance"] = frame["tolerance"].astype(float)
    frame["rounded_to"] = frame["rounded_to"].astype(float)
    for column in _STR_COLUMNS:
        frame[column] = frame[column].astype(str).astype(object)
    frame.attrs["path"] = name
    return frame


def _records(reader, name: str, columns: tuple[str, ...]) -> list[dict]:
    """Every row after the header, checked on its own and against the rows before it."""
    records: list[dict] = []
    first_line_of_id: dict[str, int] = {}
    calibrate_seen: dict[tuple[str, str, _dt.date, str], tuple[float, int]] = {}
    end_of_previous = reader.line_num
    while True:
        line = end_of_previous + 1
        try:
            row = next(reader)
        except StopIteration:
            return records
        except csv.Error as exc:
            raise InputError(f"{name} line {line}: not valid CSV ({exc})") from None
        end_of_previous = reader.line_num
        if not row or (len(row) == 1 and not row[0].strip()):
            continue  # blank lines carry no figure
        where = f"{name} line {line}"
        if len(row) != len(columns):
            raise InputError(
                f"{where}: row: must have {len(columns)} fields ({','.join(columns)}) (got {len(row)}; "
                "quote fields that contain commas)"
            )
        fields = {column: cell.strip() for column, cell in zip(columns, row)}
        date, value, tolerance, unit = _check_row(fields, where)
        _check_against_earlier(fields, value, date, line, where, first_line_of_id, calibrate_seen)
        record = dict(fields)
        record["date"] = pd.Timestamp(date)
        record["value"] = value
        record["tolerance"] = tolerance
        record["rounded_to"] = unit
        records.append(record)


def _check_against_earlier(fields: dict, value: float, date: _dt.date, line: int, where: str,
                           first_line_of_id: dict, calibrate_seen: dict) -> None:
    """Ids are unique; two fitted figures of the same region, tier, date and kind agree."""
    if fields["id"] in first_line_of_id:
        raise InputError(
            f"{where}: id: must be unique (got {_short(fields['id'])}, already on line {first_line_of_id[fields['id']]})"
        )
    first_line_of_id[fields["id"]] = line
    if fields["use"] == "calibrate":
        key = (fields["region"], fields["tier"], date, fields["kind"])
        if key in calibrate_seen and calibrate_seen[key][0] != value:
            other_value, other_line = calibrate_seen[key]
            raise InputError(
                f"{where}: value: contradicts line {other_line} (same region, tier, date and kind, both "
                f"use=calibrate): must agree or one must be validate/context (got {value:g} vs {other_value:g})"
            )
        calibrate_seen.setdefault(key, (value, line))


def figures_for(
    df: pd.DataFrame,
    region: str,
    uses: tuple[str, ...] | list[str] | str = ("calibrate", "validate", "context"),
) -> pd.DataFrame:
    """Rows for one region and the given uses, ordered by tier and date.

    Why: a calibration wants only `calibrate` rows of its region, a chart wants all of them; both
    should ask the same way, and an unknown region or use should fail loudly, not return nothing.
    """
    if region not in REGIONS:
        raise InputError(f"region: {_one_of(REGIONS)} (got {_short(region)})")
    wanted = (uses,) if isinstance(uses, str) else tuple(uses)
    unknown = [u for u in wanted if u not in USES]
    if unknown:
        raise InputError(f"uses: each {_one_of(USES)} (got {_short(unknown[0])})")
    picked = df[(df["region"] == region) & (df["use"].isin(wanted))]
    return picked.sort_values(["tier", "date", "id"], kind="stable").reset_index(drop=True)


def configured_figures(cfg: SimConfig, figures: pd.DataFrame | None = None) -> pd.DataFrame:
    """The reported figures a run or fit uses: ``figures`` when given (the file as a fit read it at
    its start), else its configured file (``cfg.reported_figures``), read now."""
    return load_reported_figures(resolve_path(cfg.reported_figures)) if figures is None else figures


def region_figures(cfg: SimConfig, figures: pd.DataFrame | None = None) -> pd.DataFrame:
    """A run's region's rows of its configured reported-figures file (or of ``figures``, the file as
    a fit read it when it started), counts scaled to the share of the region's firms the run
    simulates (``region.population_scale``): a quick look at a sample is compared like with like.
    ``attrs["scale"]`` says by how much."""
    figs = figures_for(configured_figures(cfg, figures), cfg.region.name)
    scale = cfg.region.population_scale
    counts = figs["kind"] != "review_pass"  # every other kind is a number of firms or titles
    figs.loc[counts, "value"] = figs.loc[counts, "value"] * scale
    figs.attrs["scale"] = scale
    return figs
