"""Data sets and feature metadata of the shipped model bundles.

Everything a credit analyst sees about a feature (label, description, unit, valid range, category
labels, adverse-action reason) is written here once and copied into every manifest that uses it.
Which features are model inputs, and which columns of the CSV are deliberately left out (protected
or proxy attributes, kept only for the fairness check of the model card), is also decided here.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

MODELDATA = "R package modeldata 1.1.0 (MIT licence, copyright 2019 Max Kuhn, RStudio)"


@dataclass(frozen=True)
class FeatureSpec:
    """One raw input of a model, as an applicant or analyst knows it."""

    name: str
    label: str
    description: str
    type: str  # "numeric" | "categorical" | "ordinal"
    reason: str  # adverse-action text, shown when the feature pushes risk up
    unit: str | None = None
    range: tuple[float, float] | None = None  # numeric: valid domain, inclusive
    integer: bool = False
    categories: tuple[str, ...] | None = None  # ordinal: in code order 0..k-1
    category_labels: dict[str, str] | None = None
    change: "Change | None" = None  # how an applicant could change it; None: it cannot change
    # Direction in which credit logic expects risk to move as the value grows (ordinal: along
    # `categories`): "increasing", "decreasing" or None (no clear direction, or categorical). Training
    # enforces it as a monotone constraint; `direction_why` is the one-line reason for the model card.
    risk_direction: str | None = None
    direction_why: str = "-"

    def __post_init__(self):
        assert self.risk_direction in (None, "increasing", "decreasing"), self.risk_direction
        assert self.risk_direction is None or self.type != "categorical", f"{self.name}: categorical"

    @property
    def actionable(self) -> bool:
        return self.change is not None


@dataclass(frozen=True)
class Change:
    """How an applicant could change a feature, for counterfactual suggestions."""

    direction: str  # "increase" | "decrease" | "either" (categorical: "either")
    values: tuple | None = None  # only these values are on offer (a term, a category)


DECREASE = Change("decrease")
INCREASE = Change("increase")


@dataclass(frozen=True)
class ProtectedAttribute:
    """A CSV column that is not a model input but is used to report outcomes by group."""

    name: str
    why: str
    groups: tuple[tuple[str, float], ...] | None = None  # numeric: (label, upper bound) bins


@dataclass(frozen=True)
class DatasetSpec:
    """A training data set: where it is, what the target means and which features to use."""

    key: str
    csv: str
    title: str
    target: str
    positive: str
    target_definition: str
    source: str
    reason_prefix: str
    features: tuple[FeatureSpec, ...]
    intended_use: str
    limitations: tuple[str, ...]
    proxies: str
    protected: tuple[ProtectedAttribute, ...] = field(default_factory=tuple)

    def load(self, data_dir: Path) -> pd.DataFrame:
        """Read the CSV (`NA` is the only missing marker) and check it against the feature specs."""
        frame = pd.read_csv(data_dir / self.csv, keep_default_na=False, na_values=["NA"])
        for spec in self.features:
            column = frame[spec.name]
            if spec.type == "numeric":
                values = column.dropna().to_numpy(dtype=float)
                low, high = spec.range
                assert low <= values.min() and values.max() <= high, f"{spec.name} outside {spec.range}"
                if spec.integer:
                    assert np.all(values == np.round(values)), f"{spec.name} is not integer"
            else:
                unknown = set(column.dropna()) - set(spec.categories)
                assert not unknown, f"{spec.name}: categories {unknown} not in the spec"
        assert set(frame[self.target]) == {"good", "bad"}
        return frame


def _money(name: str, label: str, description: str, high: float, reason: str, **kwargs) -> FeatureSpec:
    """A whole-number amount in US dollars."""
    return FeatureSpec(name, label, description, "numeric", reason, unit="USD", range=(0, high), integer=True, **kwargs)


def _count(name: str, label: str, description: str, high: float, reason: str, **kwargs) -> FeatureSpec:
    """A non-negative count."""
    return FeatureSpec(name, label, description, "numeric", reason, unit=None, range=(0, high), integer=True, **kwargs)


UP, DOWN = "increasing", "decreasing"


def _directed(features: tuple[FeatureSpec, ...], directions: dict[str, tuple[str | None, str]]) -> tuple[FeatureSpec, ...]:
    """The features with their risk direction and its reason, from one table that names every feature."""
    assert set(directions) == {spec.name for spec in features}, "declare a risk direction for every feature"
    return tuple(replace(spec, risk_direction=directions[spec.name][0], direction_why=directions[spec.name][1])
                 for spec in features)


SUB_GRADES = tuple(f"{grade}{step}" for grade in "ABCDEFG" for step in range(1, 6))
EMP_LENGTHS = ("emp_unk", "emp_lt_1") + tuple(f"emp_{years}" for years in range(1, 10)) + ("emp_ge_10",)
EMP_LABELS = {
    "emp_unk": "Unknown / not reported",
    "emp_lt_1": "Less than 1 year",
    **{f"emp_{years}": f"{years} year{'s' if years > 1 else ''}" for years in range(1, 10)},
    "emp_ge_10": "10 years or more",
}

LENDING_CLUB = DatasetSpec(
    key="lending_club",
    csv="lending_club.csv",
    title="Lending Club loans, Q1 2016",
    target="Class",
    positive="bad",
    target_definition=(
        "bad = the loan was charged off, defaulted, or was 21-120 days late when the data were "
        "extracted; good = fully paid or currently on time (Lending Club loans issued in Q1 2016)."
    ),
    source=f"Lending Club public loan statistics, loans issued Q1 2016, via {MODELDATA}, data set lending_club",
    reason_prefix="LC",
    features=_directed((
        FeatureSpec(
            "funded_amnt", "Loan amount", "Amount of the loan funded, in US dollars "
            "(Lending Club lent between 1,000 and 40,000 USD).", "numeric",
            "Requested loan amount is high", unit="USD", range=(1000, 40000), integer=True, change=DECREASE),
        FeatureSpec(
            "term", "Loan term", "Number of monthly repayments: 36 or 60.", "categorical",
            "Loan term is long", categories=("term_36", "term_60"),
            category_labels={"term_36": "36 months", "term_60": "60 months"},
            change=Change("either", ("term_36", "term_60"))),
        FeatureSpec(
            "int_rate", "Interest rate", "Annual interest rate of the loan, in percent. Set by Lending "
            "Club from its own sub-grade, so it already reflects the lender's risk assessment.", "numeric",
            "Interest rate on the loan is high", unit="%", range=(0, 40)),
        FeatureSpec(
            "sub_grade", "Lending Club sub-grade", "Risk sub-grade assigned by Lending Club, from A1 "
            "(lowest risk) to G5 (highest risk); encoded as its position in that order.", "ordinal",
            "Lender's risk sub-grade is poor", categories=SUB_GRADES,
            category_labels={grade: grade for grade in SUB_GRADES}),
        FeatureSpec(
            "verification_status", "Income verification", "Whether Lending Club verified the "
            "applicant's income, only its source, or neither.", "categorical",
            "Income verification status is associated with higher risk",
            categories=("Not_Verified", "Source_Verified", "Verified"),
            category_labels={"Not_Verified": "Not verified", "Source_Verified": "Income source verified",
                             "Verified": "Income verified"}),
        FeatureSpec(
            "annual_inc", "Annual income", "Self-reported annual income of the applicant, in US dollars.",
            "numeric", "Annual income is low", unit="USD", range=(0, 10_000_000), change=INCREASE),
        FeatureSpec(
            "emp_length", "Employment length", "Years with the current employer, as reported by the "
            "applicant. Encoded in order; 'unknown' is placed below 'less than 1 year'.", "ordinal",
            "Length of employment is short or unknown", categories=EMP_LENGTHS, category_labels=EMP_LABELS),
        _count("delinq_2yrs", "Delinquencies (2 years)", "Number of times the applicant was 30 or more "
               "days past due on any credit account in the last 2 years.", 50,
               "Recent delinquencies on credit accounts"),
        _count("inq_last_6mths", "Credit inquiries (6 months)", "Number of credit inquiries in the last "
               "6 months, excluding auto and mortgage inquiries.", 20, "Many recent credit inquiries"),
        FeatureSpec(
            "revol_util", "Revolving utilisation", "Revolving credit balance as a percentage of the total "
            "revolving credit limit (credit cards and lines of credit).", "numeric",
            "Revolving credit utilisation is high", unit="%", range=(0, 200), change=DECREASE),
        _count("acc_now_delinq", "Accounts now delinquent", "Number of credit accounts on which the "
               "applicant is currently delinquent.", 10, "Accounts are currently delinquent", change=DECREASE),
        _count("open_il_6m", "Active instalment accounts", "Number of currently active instalment "
               "trades (Lending Club field open_il_6m).", 50, "Many active instalment loans"),
        _count("open_il_12m", "Instalment accounts opened (12 months)", "Number of instalment accounts "
               "opened in the last 12 months.", 50, "Several instalment loans opened recently"),
        _count("open_il_24m", "Instalment accounts opened (24 months)", "Number of instalment accounts "
               "opened in the last 24 months.", 50, "Several instalment loans opened in the last two years"),
        _money("total_bal_il", "Instalment balance", "Total current balance of all instalment accounts "
               "(car loans, student loans, personal loans), in US dollars.", 2_000_000,
               "Outstanding instalment debt is high", change=DECREASE),
        FeatureSpec(
            "all_util", "Overall utilisation", "Balance as a percentage of credit limit across all trades "
            "(revolving and instalment), in percent.", "numeric", "Overall credit utilisation is high",
            unit="%", range=(0, 300), integer=True, change=DECREASE),
        _count("inq_fi", "Personal-finance inquiries", "Number of personal-finance credit inquiries.", 50,
               "Many personal-finance credit inquiries"),
        _count("inq_last_12m", "Credit inquiries (12 months)", "Number of credit inquiries in the last "
               "12 months.", 50, "Many credit inquiries in the last 12 months"),
        _money("delinq_amnt", "Past-due amount", "Amount currently past due on delinquent accounts, in "
               "US dollars.", 100_000, "Amount currently past due", change=DECREASE),
        _count("num_il_tl", "Instalment accounts (total)", "Total number of instalment accounts ever "
               "opened.", 150, "Many instalment accounts"),
        _money("total_il_high_credit_limit", "Instalment credit limit", "Total original amount (high "
               "credit / credit limit) of all instalment accounts, in US dollars.", 2_000_000,
               "Total instalment credit is high"),
    ), {
        "funded_amnt": (UP, "A larger loan means larger repayments out of the same income."),
        "term": (None, "Categorical (one-hot): no order to constrain."),
        "int_rate": (UP, "Lending Club prices risk into the rate, and a higher rate also raises the repayment."),
        "sub_grade": (UP, "A1 to G5 is Lending Club's own risk scale, from lowest to highest risk."),
        "verification_status": (None, "Categorical (one-hot): no order to constrain."),
        "annual_inc": (DOWN, "More income leaves more room to repay."),
        "emp_length": (None, "Not constrained: 'unknown' is coded below '<1 year' but is not a shorter tenure, and "
                             "the data set's bad rate is not ordered by tenure (7.2 % at 1 year against 5.6 % below 1 year)."),
        "delinq_2yrs": (UP, "Past delinquencies are the strongest sign of future ones."),
        "inq_last_6mths": (UP, "Many recent inquiries mean the applicant is seeking credit (credit hunger)."),
        "revol_util": (UP, "Using more of the available revolving credit signals financial stress."),
        "acc_now_delinq": (UP, "Accounts delinquent now are arrears now."),
        "open_il_6m": (None, "Not constrained: active instalment trades are both debt load and a record of "
                             "credit granted, and the bad rate by count is not monotone."),
        "open_il_12m": (UP, "Instalment loans opened recently add debt and signal credit seeking."),
        "open_il_24m": (UP, "Instalment loans opened recently add debt and signal credit seeking."),
        "total_bal_il": (UP, "More outstanding instalment debt to service."),
        "all_util": (UP, "Using more of the available credit signals financial stress."),
        "inq_fi": (UP, "Many personal-finance inquiries mean the applicant is seeking credit."),
        "inq_last_12m": (UP, "Many recent inquiries mean the applicant is seeking credit (credit hunger)."),
        "delinq_amnt": (UP, "Money past due now is arrears now."),
        "num_il_tl": (None, "Not constrained: a longer instalment history is both more borrowing and more "
                            "repayment experience."),
        "total_il_high_credit_limit": (None, "Not constrained: high original instalment amounts are exposure, "
                                             "but also credit other lenders granted."),
    }),
    intended_use=(
        "Estimate the probability that an unsecured personal instalment loan (36 or 60 months, 1,000 to "
        "40,000 USD) of the kind Lending Club issued in 2016 goes bad, to rank applicants and route them to "
        "approve / review / decline under a stated cost matrix."
    ),
    limitations=(
        "`int_rate` and `sub_grade` are Lending Club's own pricing of the loan, so the model partly "
        "re-learns Lending Club's underwriting. A lender without that grade has to replace these two inputs "
        "and retrain.",
        "Outcomes were observed at a single extraction date, when Q1-2016 loans were still young: `bad` "
        "includes loans 21-120 days late, and some `good` loans will still default. The bad rate (5.2 %) "
        "is therefore lower than a full-term default rate.",
        "Only funded loans have outcomes (no reject inference): the model has never seen applicants "
        "Lending Club turned down, and its scores are least reliable for them.",
        "Few defaults: the holdout has about 130 bad loans, so AUC and the policy's cost are uncertain by "
        "a few points (see the bootstrap interval).",
        "Loans from a single quarter of 2016: the economy, the product and the applicant population have "
        "moved since; monitor drift against the reference distributions before relying on the scores.",
    ),
    proxies=(
        "Remaining inputs can still carry information about the excluded attributes: income and loan "
        "amount vary by state, and employment length correlates with age. Monitor outcomes by group."
    ),
    protected=(
        ProtectedAttribute(
            "addr_state",
            "US state of the borrower's address. Geography is a well-known proxy for race and ethnicity "
            "(redlining), and a state is not a reason an applicant can act on."),
    ),
)

CREDIT_MONEY = "currency units"
CREDIT_MONEY_NOTE = " The source does not document the currency or period."

CONSUMER_CREDIT = DatasetSpec(
    key="credit_data",
    csv="credit_data.csv",
    title="Consumer credit applications (credit_data)",
    target="Status",
    positive="bad",
    target_definition=(
        "bad = the applicant did not repay the loan as agreed (Status 'bad' in the source data); "
        "good = repaid as agreed."
    ),
    source=f"Consumer credit scoring data (T. Aluja, UPC), via {MODELDATA}, data set credit_data",
    reason_prefix="CC",
    features=_directed((
        FeatureSpec(
            "Seniority", "Job seniority", "Years in the current job.", "numeric",
            "Time in current job is short", unit="years", range=(0, 60), integer=True),
        FeatureSpec(
            "Home", "Housing", "Housing situation of the applicant.", "categorical",
            "Housing situation is associated with higher risk",
            categories=("owner", "rent", "parents", "priv", "other", "ignore"),
            category_labels={"owner": "Owns home", "rent": "Rents", "parents": "Lives with parents",
                             "priv": "Private arrangement", "other": "Other",
                             "ignore": "Not stated (\"ignore\" in the source)"}),
        FeatureSpec(
            "Time", "Loan term", "Term of the requested loan, in months.", "numeric",
            "Loan term is long", unit="months", range=(0, 120), integer=True,
            change=Change("either", (6, 12, 18, 24, 30, 36, 42, 48, 54, 60, 72))),
        FeatureSpec(
            "Records", "Adverse records", "Whether the applicant has prior adverse credit records "
            "(e.g. arrears registered with a credit bureau).", "categorical",
            "Has adverse credit records", categories=("no", "yes"),
            category_labels={"no": "No records", "yes": "Has records"}),
        FeatureSpec(
            "Job", "Employment type", "Type of employment contract.", "categorical",
            "Type of employment is associated with higher risk",
            categories=("fixed", "freelance", "partime", "others"),
            category_labels={"fixed": "Permanent contract", "freelance": "Freelance / self-employed",
                             "partime": "Part-time", "others": "Other"}),
        FeatureSpec(
            "Expenses", "Expenses", "Regular expenses of the applicant." + CREDIT_MONEY_NOTE, "numeric",
            "Expenses are high", unit=CREDIT_MONEY, range=(0, 1000), integer=True),
        FeatureSpec(
            "Income", "Income", "Income of the applicant." + CREDIT_MONEY_NOTE, "numeric",
            "Income is low", unit=CREDIT_MONEY, range=(0, 5000), integer=True, change=INCREASE),
        FeatureSpec(
            "Assets", "Assets", "Value of the applicant's assets." + CREDIT_MONEY_NOTE, "numeric",
            "Assets are low", unit=CREDIT_MONEY, range=(0, 1_000_000), integer=True),
        FeatureSpec(
            "Debt", "Debt", "Outstanding debt of the applicant." + CREDIT_MONEY_NOTE, "numeric",
            "Outstanding debt is high", unit=CREDIT_MONEY, range=(0, 100_000), integer=True,
            change=DECREASE),
        FeatureSpec(
            "Amount", "Loan amount", "Amount of the requested loan." + CREDIT_MONEY_NOTE, "numeric",
            "Requested loan amount is high", unit=CREDIT_MONEY, range=(0, 20_000), integer=True,
            change=DECREASE),
        FeatureSpec(
            "Price", "Price of the good", "Price of the good the loan finances." + CREDIT_MONEY_NOTE,
            "numeric", "Loan amount is high relative to the price of the good", unit=CREDIT_MONEY,
            range=(0, 50_000), integer=True),
    ), {
        "Seniority": (DOWN, "Longer time in the same job means steadier income."),
        "Home": (None, "Categorical (one-hot): no order to constrain."),
        "Time": (UP, "A longer term leaves more time for the applicant's situation to change before repayment."),
        "Records": (None, "Categorical (one-hot): no order to constrain."),
        "Job": (None, "Categorical (one-hot): no order to constrain."),
        "Expenses": (None, "Not constrained: the source gives no definition (they look like standard amounts by "
                           "household size), and the bad rate by expenses is not monotone."),
        "Income": (DOWN, "More income leaves more room to repay."),
        "Assets": (DOWN, "Assets are a buffer (and possible collateral) when income falls short."),
        "Debt": (UP, "More outstanding debt to service from the same income."),
        "Amount": (UP, "A larger loan means larger repayments out of the same income."),
        "Price": (None, "Not constrained: at a given loan amount a higher price means a larger down-payment "
                        "(less risk), but price alone also scales the loan; no direction on its own."),
    }),
    intended_use=(
        "Estimate the probability that a consumer-credit applicant (a loan financing the purchase of a "
        "good) does not repay as agreed, from the application form, to rank applicants and route them to "
        "approve / review / decline under a stated cost matrix. Applicants may leave housing, job, "
        "income, assets and debt unknown."
    ),
    limitations=(
        "The source does not document the country, period, currency or the exact definition of `bad`; "
        "money amounts are in the data set's own units and must be entered in the same units.",
        "Only granted loans have outcomes (no reject inference).",
        "About 1,100 holdout applicants: metrics are uncertain by a point or two (see the bootstrap "
        "interval); groups in the fairness table with fewer than about 50 people are noise.",
        "The bad rate (28 %) is far above a typical consumer-credit portfolio; with the 10:1 cost matrix "
        "the policy declines about half of the applicants. Recalibrate the cut-offs to your own costs "
        "and bad rate before use.",
    ),
    proxies=(
        "Remaining inputs can still carry information about the excluded attributes: job seniority and "
        "living with parents correlate strongly with age, and housing with marital status. Monitor "
        "outcomes by group."
    ),
    protected=(
        ProtectedAttribute(
            "Age", "Age is a protected characteristic in most jurisdictions (US ECOA allows it only "
            "under strict conditions, EU equal-treatment law restricts it).",
            groups=(("18-24", 25), ("25-34", 35), ("35-44", 45), ("45-54", 55), ("55+", float("inf")))),
        ProtectedAttribute(
            "Marital", "Marital status is a prohibited basis under US ECOA and a protected "
            "characteristic in many other jurisdictions."),
    ),
)
