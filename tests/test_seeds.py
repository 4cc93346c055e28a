"""The reported-figures file loads, holds the key figures, and every malformation fails loudly.

Calibration fits whatever this file says, so a typo must stop the run with a one-line message that
names the file, the line and the column, not shift a target silently.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd
import pytest

from sim.core.errors import InputError
from sim.core.figures import COLUMNS, DEFAULT_PATH, OPTIONAL_COLUMNS, figures_for, load_reported_figures

SHARED_SEEDS = Path("/work/shared/seeds")


@pytest.fixture(scope="module")
def figures() -> pd.DataFrame:
    return load_reported_figures()


def _one(df: pd.DataFrame, region: str, tier: str, date: str, kind: str = "stock") -> pd.Series:
    rows = df[(df.region == region) & (df.tier == tier) & (df.date == pd.Timestamp(date)) & (df.kind == kind)]
    assert len(rows) == 1, rows
    return rows.iloc[0]


# ---------------------------------------------------------------- the committed file


def test_default_path_is_repo_seeds_file():
    assert DEFAULT_PATH.parts[-2:] == ("seeds", "reported_figures.csv")
    assert DEFAULT_PATH.parent.parent == Path(__file__).resolve().parent.parent


def test_committed_file_loads_with_types(figures):
    assert list(figures.columns) == list(COLUMNS + OPTIONAL_COLUMNS)
    assert pd.api.types.is_datetime64_any_dtype(figures["date"])
    assert figures["value"].dtype == float
    assert figures["tolerance"].dtype == float
    assert figures["rounded_to"].dtype == float
    for column in ("id", "region", "tier", "kind", "use", "seed_file", "quote", "reading"):
        assert all(isinstance(v, str) for v in figures[column]), column
    assert figures["id"].is_unique


@pytest.mark.parametrize(
    "region,tier,date,kind,value,use",
    [
        ("chongqing", "T3", "2023-08-31", "stock", 288, "calibrate"),
        ("chongqing", "T3", "2022-12-31", "flow", 130, "calibrate"),
        ("chongqing", "T3", "2025-11-30", "stock", 341, "calibrate"),
        ("chongqing", "T2", "2025-11-30", "stock", 5738, "calibrate"),
        ("chongqing", "T2", "2023-12-31", "stock", 3850, "calibrate"),
        ("chongqing", "T3", "2022-12-31", "stock", 255, "calibrate"),
        ("chongqing", "T3", "2021-08-31", "stock", 123, "calibrate"),
        ("national", "T3", "2024-12-31", "review_pass", 0.829, "validate"),
        ("chongqing", "ALL", "2023-12-31", "stock", 58524, "calibrate"),
        ("chongqing", "ALL", "2023-12-31", "flow", 15535, "calibrate"),
        ("chongqing", "HTE", "2023-12-31", "stock", 7565, "calibrate"),
        ("chongqing", "T3", "2025-12-31", "target", 300, "context"),
        ("chongqing", "T1", "2025-12-31", "target", 25000, "context"),
        ("national", "T2", "2023-07-31", "stock", 98000, "calibrate"),
        ("national", "T3", "2023-07-31", "stock", 12000, "calibrate"),
        ("national", "T2", "2024-05-31", "stock", 124000, "calibrate"),
        ("national", "T3", "2025-12-31", "target", 10000, "context"),
        ("national", "T2", "2025-12-31", "target", 100000, "context"),
        ("beijing", "T3", "2023-08-31", "stock", 796, "calibrate"),
        ("shenzhen", "T3", "2023-08-31", "stock", 743, "calibrate"),
        ("shanghai", "T3", "2023-08-31", "stock", 686, "calibrate"),
        ("shandong", "T2", "2023-07-31", "stock", 16075, "calibrate"),
    ],
)
def test_key_figures_present(figures, region, tier, date, kind, value, use):
    row = _one(figures, region, tier, date, kind)
    assert row.value == value
    assert row.use == use
    assert 0 < row.tolerance <= 1


def test_tiers_count_at_least_semantics(figures):
    """T2 includes the little giants, so every T2 stock is at least the T3 stock of the same date."""
    stocks = figures[figures.kind == "stock"]
    for (region, date), group in stocks.groupby(["region", "date"]):
        by_tier = dict(zip(group.tier, group.value))
        if "T2" in by_tier and "T3" in by_tier:
            assert by_tier["T2"] >= by_tier["T3"], (region, date)


def test_targets_never_calibrate_and_area_stocks_are_read_by_the_national_fit(figures):
    """Plan targets are never fitted; the other regions' stocks are the national model's area
    figures: those named in calibration.area_figures fitted (every one seeds/ marks "calibrate",
    and the cities' end-2025 counts that fit the pushes), the rest compared."""
    from sim.calibration.targets import build_targets
    from sim.commands.run import compose_job

    assert not ((figures.kind == "target") & (figures.use == "calibrate")).any()
    others = figures[~figures.region.isin(["chongqing", "national"]) & (figures.kind == "stock")]
    assert len(others) >= 7 and set(others.use) == {"calibrate", "validate"}
    cfg = compose_job(["region=national"])
    area_figures = set(cfg.calibration.area_figures)
    assert set(others.id[others.use == "calibrate"]) <= area_figures
    roles = build_targets(cfg, figures).set_index("id")["role"]
    for row in others.itertuples():
        assert roles[row.id] == ("fitted" if row.id in area_figures else "validate"), row.id
    assert (others.id.isin(area_figures) & (others.use == "validate")).any()  # the end-2025 counts
    # Chongqing's own stocks: those named fitted with the national model's Chongqing area, the rest compared
    assert roles["cq_t3_2023_08"] == "fitted" and roles["cq_t3_2025_11"] == "fitted"
    assert roles["cq_t3_2022_12"] == "validate"


def test_quotes_are_verbatim_in_the_seeds(figures):
    if not SHARED_SEEDS.is_dir():
        pytest.skip("shared seed articles not available here")
    for row in figures.itertuples():
        if row.seed_file.startswith("public:"):
            continue
        text = (SHARED_SEEDS / row.seed_file).read_text(encoding="utf-8")
        assert row.quote in text, (row.id, row.quote)


def test_a_sampled_run_charts_reported_counts_scaled_to_its_sample():
    """A run on a tenth of the region's firms compares its counts with a tenth of each reported
    count; shares (review pass rates) stay as reported."""
    from sim.commands.run import compose_job
    from sim.core.figures import region_figures

    full = region_figures(compose_job(["region=national"]))
    tenth = region_figures(compose_job(["region=national", "region.population_scale=0.1"]))
    counts = full["kind"] != "review_pass"
    assert counts.any() and (~counts).any()
    assert (tenth.loc[counts, "value"] == 0.1 * full.loc[counts, "value"]).all()
    assert (tenth.loc[~counts, "value"] == full.loc[~counts, "value"]).all()
    assert full.attrs["scale"] == 1.0 and tenth.attrs["scale"] == 0.1


def test_figures_for_filters_and_rejects_unknowns(figures):
    cal = figures_for(figures, "chongqing", ("calibrate",))
    assert len(cal) > 0 and set(cal.region) == {"chongqing"} and set(cal.use) == {"calibrate"}
    assert list(cal.index) == list(range(len(cal)))
    assert set(figures_for(figures, "national", "context").use) == {"context"}
    everything = figures_for(figures, "chongqing")
    assert len(everything) == (figures.region == "chongqing").sum()
    with pytest.raises(InputError, match="region"):
        figures_for(figures, "atlantis")
    with pytest.raises(InputError, match="uses"):
        figures_for(figures, "chongqing", ("fit",))


# ---------------------------------------------------------------- malformations

GOOD_ROWS = [
    ["cq_a", "chongqing", "T3", "2023-08-31", "288", "stock", "calibrate", "0.02", "000_c7b37dfef482b931.txt", "重庆仅有288家", "stock of T3 holders"],
    ["cq_b", "chongqing", "T2", "2023-12-31", "3850", "stock", "validate", "0.25", "004_15b1f1b9a6242892.txt", "专精特新中小企业3850家", "stock of T2 holders, end-2023"],
    ["nat_c", "national", "T1", "2025-12-31", "1000000", "target", "context", "0.02", "public:14th-FYP-SME-plan", "一百万家创新型中小企业", "plan target"],
]


def _csv_text(header: list[str], rows: list[list[str]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "figures.csv"
    path.write_text(text, encoding="utf-8")
    return path


def _error(path: Path) -> str:
    with pytest.raises(InputError) as info:
        load_reported_figures(path)
    message = str(info.value)
    assert "\n" not in message and "\r" not in message, message
    assert message.startswith(str(path)), message
    return message


def _with(column: str, value: str, row: int = 1) -> list[list[str]]:
    rows = [list(r) for r in GOOD_ROWS]
    rows[row][COLUMNS.index(column)] = value
    return rows


def test_good_copy_loads(tmp_path):
    df = load_reported_figures(_write(tmp_path, _csv_text(list(COLUMNS), GOOD_ROWS)))
    assert len(df) == 3 and df.loc[0, "date"] == pd.Timestamp("2023-08-31")


def test_blank_lines_are_ignored(tmp_path):
    text = _csv_text(list(COLUMNS), GOOD_ROWS[:1]) + "\n" + _csv_text(list(COLUMNS), GOOD_ROWS[1:]).split("\n", 1)[1] + "\n"
    assert len(load_reported_figures(_write(tmp_path, text))) == 3


# (column, bad value, what the message must say); the bad value goes into data line 3
FIELD_CASES = [
    ("id", "", "must not be empty"),
    ("id", "Bad Id!", "slug"),
    ("region", "chengdu", "must be one of chongqing"),
    ("tier", "T4", "must be one of ALL, T1, T2, T3, HTE, LISTING"),
    ("date", "2023-13-01", "must be an ISO date YYYY-MM-DD (got '2023-13-01')"),
    ("date", "2023/08/31", "ISO date"),
    ("date", "2023-8-31", "ISO date"),
    ("value", "about 300", "must be a number"),
    ("value", "", "must be a number"),
    ("value", "-5", "must not be negative"),
    ("value", "nan", "finite"),
    ("value", "inf", "finite"),
    ("kind", "level", "must be one of stock, flow, target"),
    ("use", "fit", "must be one of calibrate, validate, context"),
    ("tolerance", "0", "(0, 1]"),
    ("tolerance", "1.5", "(0, 1]"),
    ("tolerance", "-0.1", "(0, 1]"),
    ("tolerance", "ten percent", "(0, 1]"),
    ("tolerance", "nan", "(0, 1]"),
    ("seed_file", "004_15B1F1B9A6242892.txt", "seed file name"),
    ("seed_file", "seed004.txt", "seed file name"),
    ("seed_file", "public:", "public:"),
    ("quote", "", "must not be empty"),
    ("reading", "", "must not be empty"),
]


@pytest.mark.parametrize("column,bad,expected", FIELD_CASES)
def test_bad_field_names_line_and_column(tmp_path, column, bad, expected):
    message = _error(_write(tmp_path, _csv_text(list(COLUMNS), _with(column, bad))))
    assert f"line 3: {column}: " in message, message
    assert expected in message, message


def test_a_review_pass_share_above_one_is_refused(tmp_path):
    rows = _with("kind", "review_pass")
    rows[1][COLUMNS.index("value")] = "57.3"  # a percentage where a share is meant
    message = _error(_write(tmp_path, _csv_text(list(COLUMNS), rows)))
    assert "line 3: value: must be a share in (0, 1] when kind is review_pass (got '57.3')" in message, message


def test_target_used_to_calibrate(tmp_path):
    message = _error(_write(tmp_path, _csv_text(list(COLUMNS), _with("use", "calibrate", row=2))))
    assert "line 4: use: " in message and "target" in message, message


def test_duplicate_id(tmp_path):
    message = _error(_write(tmp_path, _csv_text(list(COLUMNS), _with("id", "cq_a", row=2))))
    assert "line 4: id: " in message and "line 2" in message, message


def test_contradicting_calibration_rows(tmp_path):
    rows = [list(r) for r in GOOD_ROWS] + [
        ["cq_d", "chongqing", "T3", "2023-08-31", "255", "stock", "calibrate", "0.25", "004_15b1f1b9a6242892.txt", "小巨人企业255家", "same date"],
    ]
    message = _error(_write(tmp_path, _csv_text(list(COLUMNS), rows)))
    assert "line 5: value: " in message and "line 2" in message and "255" in message and "288" in message, message


def test_same_key_is_fine_when_not_both_calibrate_or_equal(tmp_path):
    rows = [list(r) for r in GOOD_ROWS] + [
        ["cq_d", "chongqing", "T3", "2023-08-31", "255", "stock", "validate", "0.25", "004_15b1f1b9a6242892.txt", "小巨人企业255家", "net reading"],
        ["cq_e", "chongqing", "T3", "2023-08-31", "288", "stock", "calibrate", "0.02", "000_c7b37dfef482b931.txt", "重庆仅有288家", "repeat"],
    ]
    assert len(load_reported_figures(_write(tmp_path, _csv_text(list(COLUMNS), rows)))) == 5


@pytest.mark.parametrize(
    "header,expected",
    [
        ([c for c in COLUMNS if c != "tolerance"], "missing column(s) tolerance"),
        (list(COLUMNS) + ["note"], "unexpected column(s) 'note'"),
        (["id", "tier", "region"] + list(COLUMNS[3:]), "columns out of order"),
        (list(COLUMNS[:-1]) + ["quote"], "missing column(s) reading"),
    ],
)
def test_bad_header(tmp_path, header, expected):
    rows = [r[: len(header)] + [""] * (len(header) - len(r)) for r in GOOD_ROWS]
    message = _error(_write(tmp_path, _csv_text(header, rows)))
    assert "line 1: header: " in message and expected in message, message
    assert "must be exactly id,region,tier,date" in message, message


def test_rounding_is_optional_and_read_as_a_unit(tmp_path):
    """Without the rounded_to column every figure is exact; with it, a blank cell is exact and a
    number is the unit the quote rounds to ("1.2万" -> 1000)."""
    plain = load_reported_figures(_write(tmp_path, _csv_text(list(COLUMNS), GOOD_ROWS)))
    assert list(plain["rounded_to"]) == [0.0, 0.0, 0.0]
    rows = [list(r) + [u] for r, u in zip(GOOD_ROWS, ["", "1000", ""])]
    rounded = load_reported_figures(_write(tmp_path, _csv_text(list(COLUMNS + OPTIONAL_COLUMNS), rows)))
    assert list(rounded["rounded_to"]) == [0.0, 1000.0, 0.0]


@pytest.mark.parametrize("bad", ["-1000", "about 1000", "inf"])
def test_a_bad_rounding_unit_names_its_column(tmp_path, bad):
    rows = [list(r) + [bad if k == 1 else ""] for k, r in enumerate(GOOD_ROWS)]
    message = _error(_write(tmp_path, _csv_text(list(COLUMNS + OPTIONAL_COLUMNS), rows)))
    assert "line 3: rounded_to: must be blank or 0 (exact) or the positive unit" in message, message


def test_committed_figures_quoted_rounded_carry_their_unit(figures):
    """MIIT's "1.2万" little giants (2023, 2024) are known to the thousand; its 8,997 is exact."""
    unit = figures.set_index("id")["rounded_to"]
    assert unit["nat_t3_2023_07"] == unit["nat_t3_2024_05"] == 1000.0
    assert unit["nat_t3_2022_09"] == 0.0 and unit["cq_t3_2023_08"] == 0.0


def test_wrong_field_count(tmp_path):
    text = _csv_text(list(COLUMNS), GOOD_ROWS) + "cq_x,chongqing,T3,2023-08-31,288\n"
    message = _error(_write(tmp_path, text))
    assert "line 5: row: must have 11 fields" in message and "got 5" in message, message


def test_unquoted_comma_shifts_fields(tmp_path):
    text = _csv_text(list(COLUMNS), GOOD_ROWS[:1]) + (
        "cq_y,chongqing,T3,2023-08-31,288,stock,calibrate,0.02,000_c7b37dfef482b931.txt,重庆,288家,a reading\n"
    )
    message = _error(_write(tmp_path, text))
    assert "line 3: row: must have 11 fields" in message and "got 12" in message, message


def test_line_numbers_count_physical_lines(tmp_path):
    """A blank line before the bad row must not throw the reported line number off."""
    text = _csv_text(list(COLUMNS), GOOD_ROWS[:1]) + "\n\n" + _csv_text(list(COLUMNS), _with("tier", "T9")[1:2]).split("\n", 1)[1]
    message = _error(_write(tmp_path, text))
    assert "line 5: tier: " in message, message


def test_multiline_field_is_rejected_as_one_line_message(tmp_path):
    rows = _with("reading", "first line\nsecond line")
    message = _error(_write(tmp_path, _csv_text(list(COLUMNS), rows)))
    assert "line 3: reading: must fit on one line" in message, message


def test_missing_file(tmp_path):
    path = tmp_path / "nope.csv"
    message = _error(path)
    assert "file not found" in message, message


def test_empty_file(tmp_path):
    message = _error(_write(tmp_path, ""))
    assert "line 1" in message and "empty" in message, message


def test_whitespace_only_file(tmp_path):
    message = _error(_write(tmp_path, "\n  \n"))
    assert "empty" in message, message


def test_header_only(tmp_path):
    message = _error(_write(tmp_path, _csv_text(list(COLUMNS), [])))
    assert "line 2" in message and "no figures" in message, message


def test_not_utf8(tmp_path):
    path = tmp_path / "figures.csv"
    path.write_bytes(_csv_text(list(COLUMNS), GOOD_ROWS).encode("gbk"))
    message = _error(path)
    assert "UTF-8" in message and "line 2" in message, message


def test_default_path_message_is_repo_relative(tmp_path, monkeypatch):
    import sim.core.figures as seeds

    monkeypatch.setattr(seeds, "DEFAULT_PATH", seeds.REPO_ROOT / "seeds" / "does_not_exist.csv")
    with pytest.raises(InputError, match=r"^seeds/does_not_exist\.csv: file not found"):
        seeds.load_reported_figures()


def test_the_flows_chart_marks_the_reported_srdi_lists_but_not_a_lower_bound():
    """Chongqing's SRDI lists of 2018, 2023 and 2024 (validate flows) are drawn on the SRDI panel to compare
    with the model's new titles; the 2019 list, a lower bound for its year (use=context), is not."""
    import matplotlib.pyplot as plt
    from matplotlib.container import ErrorbarContainer

    from sim.analysis.run_tables import yearly
    from sim.commands.run import compose_job
    from sim.experiment.runner import run_one
    from sim.presentation.run_charts import flows_chart

    cfg = compose_job(["end_year=2024", "outcomes.report_years=[2024]", "calibration.use=none",
                       "region.initial_firms=4000", "region.initial_srdi=200"])
    fig = flows_chart(cfg, yearly(run_one(cfg, 1).assign(replication=0)))
    srdi = [c for c in fig.axes[0].containers if isinstance(c, ErrorbarContainer)]
    marked = sorted((int(c.lines[0].get_xdata()[0]), float(c.lines[0].get_ydata()[0])) for c in srdi)
    plt.close(fig)
    assert marked == [(2018, 229.0), (2023, 1366.0), (2024, 1381.0)]
