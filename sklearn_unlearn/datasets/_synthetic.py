"""A synthetic DataCo-like order table at any size: the package's built-in data.

Its columns are those the DataCo feature code reads, so every pipeline runs on both.
Marginals and the label mechanism are calibrated to the 6,000-row real sample that ships
with the package (``load_dataco()``): shipping mode decides the scheduled days; the real days
are drawn per mode (First Class always late, Same Day 0-1 days, Second and Standard
Class 2-6 days uniformly), which gives the sample's class shares (about 59 % late,
22 % early, 19 % on time) and its shipping-mode × label table. As in the real data,
nothing else known at order time carries signal about the delay; ``Late_delivery_risk``
leaks the label exactly as the real column does.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state

from ._dataco import ORDER_DATE, REAL_DAYS, SCHEDULED_DAYS, SHIPPING_DATE

SHIPPING_MODES = {  # mode: (share, scheduled days, real days drawn from, their probabilities)
    "Standard Class": (0.586, 4, [2, 3, 4, 5, 6], [0.197, 0.184, 0.203, 0.203, 0.213]),
    "Second Class": (0.2005, 2, [2, 3, 4, 5, 6], [0.209, 0.208, 0.196, 0.197, 0.190]),
    "First Class": (0.1615, 1, [2], [1.0]),
    "Same Day": (0.052, 0, [0, 1], [0.527, 0.473]),
}
MARKETS = {  # market: (share, {region: share})
    "Europe": (
        0.286,
        {"Western Europe": 0.55, "Northern Europe": 0.2, "Southern Europe": 0.18, "Eastern Europe": 0.07},
    ),
    "LATAM": (0.286, {"Central America": 0.55, "South America": 0.3, "Caribbean": 0.15}),
    "Pacific Asia": (
        0.217,
        {
            "Oceania": 0.23,
            "Southeast Asia": 0.22,
            "Eastern Asia": 0.2,
            "South Asia": 0.18,
            "West Asia": 0.15,
            "Central Asia": 0.02,
        },
    ),
    "USCA": (
        0.145,
        {"West of USA": 0.31, "East of USA": 0.27, "US Center": 0.23, "South of  USA": 0.15, "Canada": 0.04},
    ),
    "Africa": (
        0.066,
        {
            "West Africa": 0.32,
            "North Africa": 0.22,
            "East Africa": 0.18,
            "Central Africa": 0.18,
            "Southern Africa": 0.1,
        },
    ),
}
CATEGORIES = {  # category: (share, department, typical product price)
    "Men's Footwear": (0.13, "Apparel", 129.99),
    "Cleats": (0.125, "Apparel", 59.99),
    "Women's Apparel": (0.115, "Golf", 50.0),
    "Indoor/Outdoor Games": (0.105, "Fan Shop", 49.98),
    "Fishing": (0.1, "Fan Shop", 399.98),
    "Water Sports": (0.09, "Fan Shop", 199.99),
    "Camping & Hiking": (0.08, "Fan Shop", 299.98),
    "Cardio Equipment": (0.07, "Footwear", 99.99),
    "Shop By Sport": (0.06, "Golf", 39.99),
    "Electronics": (0.03, "Outdoors", 47.99),
    "Girls' Apparel": (0.025, "Golf", 30.0),
    "Accessories": (0.025, "Outdoors", 24.99),
    "Trade-In": (0.02, "Outdoors", 15.99),
    "Golf Balls": (0.025, "Outdoors", 17.99),
}
SEGMENTS = {"Consumer": 0.517, "Corporate": 0.31, "Home Office": 0.173}
PAYMENT_TYPES = {"DEBIT": 0.389, "TRANSFER": 0.28, "PAYMENT": 0.227, "CASH": 0.104}
ORDER_STATUSES = {  # shares among shipped (not canceled) orders
    "COMPLETE": 0.351,
    "PENDING_PAYMENT": 0.227,
    "PENDING": 0.124,
    "PROCESSING": 0.123,
    "CLOSED": 0.11,
    "ON_HOLD": 0.055,
    "PAYMENT_REVIEW": 0.01,
}
CANCELED_SHARE = 0.0435  # "Shipping canceled" rows, ordered as CANCELED or SUSPECTED_FRAUD
QUANTITIES = ([1, 2, 3, 4, 5], [0.558, 0.108, 0.114, 0.108, 0.112])
FIRST_ORDER, LAST_ORDER = np.datetime64("2015-01-01T00:00"), np.datetime64("2018-01-31T23:59")


def make_supply_chain(n_samples: int = 10_000, random_state: int | np.random.RandomState | None = None) -> pd.DataFrame:
    """Generate ``n_samples`` DataCo-like order rows.

    Parameters
    ----------
    n_samples : int, default=10_000
        Rows to generate (1k to 10M; about a second per million rows).
    random_state : int, RandomState or None
        Seed; the same seed gives the same table.

    Returns
    -------
    DataFrame
        DataCo's columns (shipping mode and days, delivery status, late-risk flag, market,
        region, category, department, segment, payment type, order status, prices,
        quantities, discounts, profits, location, order and shipping dates, ids).
        Pass it to ``sklearn_unlearn.datasets.dataco_task`` for features and labels.
    """
    if not isinstance(n_samples, (int, np.integer)) or n_samples < 1:
        raise ValueError(f"n_samples must be a positive integer; got {n_samples!r}.")
    rng = check_random_state(random_state)
    n = int(n_samples)

    mode = _draw(rng, n, {m: v[0] for m, v in SHIPPING_MODES.items()})
    scheduled = np.array([v[1] for v in SHIPPING_MODES.values()])[mode.codes]
    real = np.empty(n, dtype=np.int64)
    for code, (_, _, days, probs) in enumerate(SHIPPING_MODES.values()):
        rows = np.flatnonzero(mode.codes == code)
        real[rows] = rng.choice(days, size=len(rows), p=probs)
    late = real > scheduled
    canceled = rng.random_sample(n) < CANCELED_SHARE
    delivery = np.where(real < scheduled, 0, np.where(late, 2, 1))
    delivery = np.where(canceled, 3, delivery)
    statuses = np.array(["Advance shipping", "Shipping on time", "Late delivery", "Shipping canceled"])

    market = _draw(rng, n, {m: v[0] for m, v in MARKETS.items()})
    region = _regions(rng, market)
    category = _draw(rng, n, {c: v[0] for c, v in CATEGORIES.items()})
    department = np.array([v[1] for v in CATEGORIES.values()], dtype=object)[category.codes]
    base_price = np.array([v[2] for v in CATEGORIES.values()])[category.codes]
    price = np.round(base_price * rng.choice([0.5, 0.8, 1.0, 1.0, 1.25, 2.0], size=n), 2)
    quantity = rng.choice(QUANTITIES[0], size=n, p=QUANTITIES[1])
    discount_rate = rng.choice(np.round(np.arange(0, 0.26, 0.01), 2), size=n)
    sales = price * quantity
    discount = np.round(sales * discount_rate, 2)
    total = sales - discount
    profit_ratio = np.clip(np.round(rng.normal(0.13, 0.45, size=n), 2), -2.75, 0.5)
    profit = np.round(total * profit_ratio, 2)
    shipped_status = _draw(rng, n, ORDER_STATUSES).astype(object)
    order_status = np.where(
        canceled, np.where(rng.random_sample(n) < 0.44, "CANCELED", "SUSPECTED_FRAUD"), shipped_status
    )
    minutes = (LAST_ORDER - FIRST_ORDER).astype("timedelta64[m]").astype(np.int64)
    ordered = FIRST_ORDER + rng.randint(0, minutes + 1, size=n).astype("timedelta64[m]")
    shipped = ordered + (real * 24 * 60).astype("timedelta64[m]")
    in_puerto_rico = rng.random_sample(n) < 0.38
    latitude = np.where(in_puerto_rico, 18.2 + rng.normal(0, 0.05, n), rng.uniform(25, 48, n))
    longitude = np.where(in_puerto_rico, -66.4 + rng.normal(0, 0.05, n), rng.uniform(-122, -73, n))

    return pd.DataFrame(
        {
            "Type": _draw(rng, n, PAYMENT_TYPES),
            REAL_DAYS: real,
            SCHEDULED_DAYS: scheduled,
            "Benefit per order": profit,
            "Sales per customer": total,
            "Delivery Status": pd.Categorical(statuses[delivery]),
            "Late_delivery_risk": (late & ~canceled).astype(np.int64),
            "Category Name": category,
            "Customer Id": rng.randint(1, max(2, n // 3), size=n),
            "Customer Segment": _draw(rng, n, SEGMENTS),
            "Department Name": pd.Categorical(department),
            "Latitude": latitude,
            "Longitude": longitude,
            "Market": market,
            ORDER_DATE: ordered.astype("datetime64[ns]"),
            "Order Id": np.arange(1, n + 1),
            "Order Item Discount": discount,
            "Order Item Discount Rate": discount_rate,
            "Order Item Id": np.arange(1, n + 1),
            "Order Item Product Price": price,
            "Order Item Profit Ratio": profit_ratio,
            "Order Item Quantity": quantity,
            "Sales": sales,
            "Order Item Total": total,
            "Order Profit Per Order": profit,
            "Order Region": region,
            "Order Status": pd.Categorical(order_status),
            "Product Price": price,
            SHIPPING_DATE: shipped.astype("datetime64[ns]"),
            "Shipping Mode": mode,
        }
    )


def _draw(rng: np.random.RandomState, n: int, shares: dict[str, float]) -> pd.Categorical:
    probs = np.array(list(shares.values()), dtype=np.float64)
    codes = rng.choice(len(probs), size=n, p=probs / probs.sum())
    return pd.Categorical.from_codes(codes, categories=list(shares))


def _regions(rng: np.random.RandomState, market: pd.Categorical) -> pd.Categorical:
    names = [r for _, regions in MARKETS.values() for r in regions]
    codes = np.empty(len(market), dtype=np.int64)
    offset = 0
    for code, (_, regions) in enumerate(MARKETS.values()):
        rows = np.flatnonzero(market.codes == code)
        probs = np.array(list(regions.values()))
        codes[rows] = offset + rng.choice(len(probs), size=len(rows), p=probs / probs.sum())
        offset += len(regions)
    return pd.Categorical.from_codes(codes, categories=names)
