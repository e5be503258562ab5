"""The simulated shop's world: countries, stores, customers and the catalogue.

Everything is drawn with numpy from one seeded generator and kept twice: as Arrow
tables in the contract's entity schemas (what files and consumers see) and as
numpy arrays of codes (what the behaviour model samples from). Customers carry a
latent activity weight and spend level with a heavy tail, so a few customers buy
often and much (structure for RFM and lifetime value); products carry a Zipf-like
popularity and a bundle partner bought with them (structure for basket analysis).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from shopstream.events.contract import CUSTOMERS_SCHEMA, PRODUCTS_SCHEMA, STORES_SCHEMA
from shopstream.generator.columns import category, digit_matrix, money
from shopstream.settings import GeneratorSettings

MICROS_PER_DAY = 86_400_000_000

# code, share of visits, UTC offset in hours, region, cities
COUNTRIES: tuple[tuple[str, float, int, str, tuple[str, ...]], ...] = (
    ("US", 0.30, -6, "Americas", ("New York", "Chicago", "Austin", "Seattle", "Miami")),
    ("GB", 0.11, 0, "Europe", ("London", "Manchester", "Leeds", "Bristol")),
    ("DE", 0.09, 1, "Europe", ("Berlin", "Munich", "Hamburg", "Cologne")),
    ("FR", 0.07, 1, "Europe", ("Paris", "Lyon", "Marseille", "Lille")),
    ("CA", 0.05, -5, "Americas", ("Toronto", "Vancouver", "Montreal")),
    ("IN", 0.06, 5, "Asia-Pacific", ("Mumbai", "Delhi", "Bangalore")),
    ("JP", 0.05, 9, "Asia-Pacific", ("Tokyo", "Osaka", "Nagoya")),
    ("AU", 0.04, 10, "Asia-Pacific", ("Sydney", "Melbourne", "Brisbane")),
    ("BR", 0.05, -3, "Americas", ("Sao Paulo", "Rio de Janeiro", "Curitiba")),
    ("ES", 0.04, 1, "Europe", ("Madrid", "Barcelona", "Valencia")),
    ("IT", 0.04, 1, "Europe", ("Rome", "Milan", "Turin")),
    ("NL", 0.03, 1, "Europe", ("Amsterdam", "Rotterdam", "Utrecht")),
    ("MX", 0.03, -6, "Americas", ("Mexico City", "Guadalajara", "Monterrey")),
    ("SE", 0.02, 1, "Europe", ("Stockholm", "Gothenburg")),
    ("SG", 0.02, 8, "Asia-Pacific", ("Singapore",)),
)
COUNTRY_CODES = tuple(c[0] for c in COUNTRIES)
COUNTRY_SHARE = np.array([c[1] for c in COUNTRIES]) / sum(c[1] for c in COUNTRIES)
COUNTRY_UTC_OFFSET = np.array([c[2] for c in COUNTRIES], dtype=np.int64)
REGIONS = ("Americas", "Europe", "Asia-Pacific")

# category, share of interest, median price in cents, price spread (lognormal sigma), brands, nouns
CATEGORIES: tuple[tuple[str, float, int, float, tuple[str, ...], tuple[str, ...]], ...] = (
    (
        "Electronics",
        0.14,
        12_000,
        0.8,
        ("Voltix", "Nordwave", "Pixelon", "Auralis"),
        ("Headphones", "Speaker", "Charger", "Monitor", "Keyboard", "Camera"),
    ),
    (
        "Clothing",
        0.16,
        3_500,
        0.5,
        ("Threadly", "Northwind", "Urbanfit", "Lumen"),
        ("T-Shirt", "Jacket", "Jeans", "Hoodie", "Dress", "Sneakers"),
    ),
    (
        "Home & Kitchen",
        0.12,
        4_000,
        0.7,
        ("Hearthly", "Casa Nova", "Oakline"),
        ("Pan", "Kettle", "Blender", "Lamp", "Throw", "Knife Set"),
    ),
    (
        "Beauty",
        0.09,
        2_200,
        0.5,
        ("Glowe", "Purelle", "Velvra"),
        ("Serum", "Moisturiser", "Lipstick", "Shampoo", "Perfume"),
    ),
    (
        "Sports",
        0.08,
        4_500,
        0.7,
        ("Stride", "Peakform", "Aquaflex"),
        ("Yoga Mat", "Dumbbells", "Running Shoes", "Bottle", "Racket"),
    ),
    (
        "Books",
        0.08,
        1_600,
        0.35,
        ("Inkwell Press", "Paperlane"),
        ("Novel", "Cookbook", "Atlas", "Biography", "Guide"),
    ),
    (
        "Toys",
        0.07,
        2_500,
        0.6,
        ("Playnest", "Brickly", "Wonderbox"),
        ("Puzzle", "Building Set", "Doll", "Board Game", "Robot"),
    ),
    (
        "Grocery",
        0.10,
        800,
        0.5,
        ("Fieldfresh", "Daily Harvest"),
        ("Coffee", "Tea", "Olive Oil", "Chocolate", "Pasta"),
    ),
    (
        "Garden",
        0.05,
        3_000,
        0.7,
        ("Greenroot", "Bloomwell"),
        ("Hose", "Planter", "Seeds", "Shears", "Lantern"),
    ),
    (
        "Jewelry",
        0.04,
        8_000,
        0.9,
        ("Aurelia", "Lumiere"),
        ("Ring", "Necklace", "Earrings", "Bracelet", "Watch"),
    ),
    (
        "Pet Supplies",
        0.04,
        2_000,
        0.5,
        ("Pawsome", "Furbelle"),
        ("Dog Food", "Cat Toy", "Leash", "Pet Bed", "Litter"),
    ),
    (
        "Automotive",
        0.03,
        3_500,
        0.8,
        ("Motorline", "Gearbox"),
        ("Car Mat", "Dash Cam", "Wax", "Phone Mount", "Jump Starter"),
    ),
)
CATEGORY_NAMES = tuple(c[0] for c in CATEGORIES)
CATEGORY_SHARE = np.array([c[1] for c in CATEGORIES]) / sum(c[1] for c in CATEGORIES)
BRAND_NAMES = tuple(sorted({b for c in CATEGORIES for b in c[4]}))
ADJECTIVES = ("Classic", "Pro", "Eco", "Smart", "Deluxe", "Compact", "Essential", "Premium", "Lite", "Max")
FIRST_NAMES = (
    "Olivia",
    "Liam",
    "Emma",
    "Noah",
    "Ava",
    "Lucas",
    "Mia",
    "Mateo",
    "Sofia",
    "Leon",
    "Hana",
    "Arjun",
    "Chloe",
    "Yuki",
    "Isabella",
    "Ethan",
    "Amelia",
    "Hugo",
    "Zara",
    "Omar",
    "Elena",
    "Kai",
    "Priya",
    "Jonas",
)
LAST_NAMES = (
    "Smith",
    "Garcia",
    "Muller",
    "Martin",
    "Rossi",
    "Silva",
    "Tanaka",
    "Sharma",
    "Brown",
    "Dubois",
    "Jansen",
    "Lopez",
    "Andersson",
    "Kim",
    "Nguyen",
    "Wilson",
    "Schmidt",
    "Moreau",
    "Santos",
    "Patel",
    "Taylor",
    "Costa",
)
PAYMENT_SHARE = {"card": 0.55, "paypal": 0.18, "apple_pay": 0.12, "google_pay": 0.08, "bank_transfer": 0.07}


@dataclass(frozen=True)
class World:
    """The entities and the numpy views of them the behaviour model samples from."""

    customers: pa.Table
    products: pa.Table
    stores: pa.Table
    customer_ids: npt.NDArray[np.uint8]
    """Row i is the id of customer i as a fixed-width byte string."""
    customer_country: npt.NDArray[np.int16]
    customer_registered_us: npt.NDArray[np.int64]
    customers_by_country: WeightedGroups
    """Customers by country, weighted by how often they visit."""
    customer_spend: npt.NDArray[np.float64]
    """How much a customer buys per order, relative to others (heavy-tailed, median 1)."""
    customer_age: npt.NDArray[np.int16]
    product_ids: npt.NDArray[np.uint8]
    product_category: npt.NDArray[np.int16]
    product_price_cents: npt.NDArray[np.int64]
    product_inventory: npt.NDArray[np.int64]
    product_rating: npt.NDArray[np.float32]
    product_partner: npt.NDArray[np.int64]
    """Index of the product most often bought together with this one."""
    product_table: npt.NDArray[np.int64]
    """Per category, products repeated in proportion to popularity: a lookup-table sampler."""
    product_table_start: npt.NDArray[np.int64]
    product_table_size: npt.NDArray[np.float64]
    """Per category, where its stretch of ``product_table`` starts and how long it is (as a
    float: it scales uniform draws)."""
    store_ids: npt.NDArray[np.uint8]
    store_country: npt.NDArray[np.int16]
    stores_by_country: WeightedGroups
    """Stores by country, each as likely as another."""

    @property
    def n_customers(self) -> int:
        return len(self.customer_country)

    @property
    def n_products(self) -> int:
        return len(self.product_category)


_GUIDE_BLOCK = 1 << 20


def _grouped_cdf(
    groups: npt.NDArray[np.integer], weights: npt.NDArray[np.float64], n_groups: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Members ordered by group, group bounds, and cumulative weights along that order."""
    order = np.argsort(groups, kind="stable").astype(np.int64)
    bounds = np.searchsorted(groups[order], np.arange(n_groups + 1)).astype(np.int64)
    cdf = np.concatenate([[0.0], np.cumsum(weights[order])])
    return order, bounds, cdf


@dataclass(frozen=True)
class WeightedGroups:
    """Members ordered by group, with cumulative weights: weighted draws within a group."""

    order: npt.NDArray[np.int64]
    """Member indexes ordered by group, then by nothing in particular."""
    bounds: npt.NDArray[np.int64]
    """Group g's members are ``order[bounds[g]:bounds[g+1]]``."""
    cdf: npt.NDArray[np.float64]
    """Cumulative weight along ``order``, from 0."""
    guide: npt.NDArray[np.int32]
    """For ``2 * members`` equal steps of the total weight, the position a search for each
    step gives: a search for any weight then looks only between two nearby steps' positions."""
    steps: int
    """Halvings that narrow any such stretch to one position."""

    @classmethod
    def of(
        cls, groups: npt.NDArray[np.integer], weights: npt.NDArray[np.float64], n_groups: int
    ) -> WeightedGroups:
        order, bounds, cdf = _grouped_cdf(groups, weights, n_groups)
        n_steps = max(2 * len(order), 1)
        guide = np.empty(n_steps + 1, np.int32)
        for first in range(0, n_steps + 1, _GUIDE_BLOCK):  # in blocks: 10M members need no 2 GB
            marks = np.arange(first, min(first + _GUIDE_BLOCK, n_steps + 1)) * (cdf[-1] / n_steps)
            guide[first : first + len(marks)] = np.searchsorted(cdf, marks, side="right") - 1  # sorted: fast
        guide[-1] = len(cdf) - 1  # exactly: rounding may put the last step's mark short of the total
        # a weight is looked for between the step below its own and the one two above it
        padded = np.concatenate([guide[:1], guide, guide[-1:], guide[-1:]])
        widest = int((padded[3:] - padded[:-3]).max())
        return cls(order, bounds, cdf, guide, widest.bit_length())

    def draw(self, rng: np.random.Generator, group: npt.NDArray[np.integer]) -> npt.NDArray[np.int64]:
        """One weighted draw per element of ``group`` from the members of that group.

        Groups without members give -1.

        >>> stores = WeightedGroups.of(np.array([1, 0, 1]), np.array([1.0, 1.0, 3.0]), 3)
        >>> stores.draw(np.random.default_rng(0), np.array([0, 2, 1, 1, 1, 1])).tolist()
        [1, -1, 0, 0, 2, 2]
        """
        first, end = np.take(self.bounds, group), np.take(self.bounds, group + 1)  # faster than indexing
        lo = np.take(self.cdf, first)
        u = rng.random(len(group))
        u *= np.take(self.cdf, end) - lo
        u += lo
        position = np.minimum(np.maximum(self._position(u), first), np.maximum(end - 1, first))
        result = np.take(self.order, np.minimum(position, len(self.order) - 1))
        return np.where(end > first, result, -1)

    def _position(self, weight: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
        """``np.searchsorted(self.cdf, weight, side="right") - 1``, the same positions found
        in a fraction of the time: a search over the whole table, one weight at a time,
        mispredicts a branch at every halving, where this narrows every weight to the stretch
        between the guide's steps around it, then halves all the stretches at once.

        >>> groups = WeightedGroups.of(np.zeros(5, np.int64), np.array([0.5, 0.0, 2.0, 1.0, 0.25]), 1)
        >>> groups.cdf.tolist()
        [0.0, 0.5, 0.5, 2.5, 3.5, 3.75]
        >>> groups._position(np.array([0.0, 0.5, 0.7, 2.5, 3.6, 3.75])).tolist()
        [0, 2, 2, 3, 4, 5]
        """
        n_steps = len(self.guide) - 1
        total = self.cdf[-1]
        step = (weight * (n_steps / total if total > 0 else 0.0)).astype(np.int64)
        # the step below and two above: a margin for rounding in the line before
        lo = np.take(self.guide, np.clip(step - 1, 0, n_steps)).astype(np.int64)
        hi = np.take(self.guide, np.clip(step + 2, 0, n_steps)).astype(np.int64)
        for _ in range(self.steps):
            middle = (lo + hi + 1) >> 1
            right = np.take(self.cdf, middle) <= weight
            lo = np.where(right, middle, lo)
            hi = np.where(right, hi, middle - 1)
        return lo


def _strings(values: tuple[str, ...], codes: npt.NDArray[np.integer]) -> pa.Array:
    return pa.array(list(values), pa.string()).take(pa.array(codes.astype(np.int32)))


def build_world(settings: GeneratorSettings) -> World:
    """Draw the world for ``settings`` (deterministic in the seed)."""
    rng = np.random.default_rng([settings.seed, 1])
    start_us = int(settings.start.timestamp() * 1_000_000)

    # stores: at least one in each of the biggest markets, then by share
    n_stores = settings.stores
    store_country = np.concatenate(
        [np.arange(min(n_stores, 6)), rng.choice(len(COUNTRIES), max(n_stores - 6, 0), p=COUNTRY_SHARE)]
    ).astype(np.int16)
    store_city = np.array([rng.integers(len(COUNTRIES[c][4])) for c in store_country], dtype=np.int64)
    store_city_names = [COUNTRIES[c][4][k] for c, k in zip(store_country, store_city, strict=True)]
    store_ids = digit_matrix("S", np.arange(1, n_stores + 1), 3)
    stores = pa.table(
        [
            pa.array([bytes(r).decode() for r in store_ids]),
            pa.array([f"shopstream {city} {i + 1}" for i, city in enumerate(store_city_names)]),
            pa.array(store_city_names),
            category(store_country, COUNTRY_CODES),
            category(np.array([REGIONS.index(COUNTRIES[c][3]) for c in store_country]), REGIONS),
        ],
        schema=STORES_SCHEMA,
    )

    # customers
    n = settings.customers
    customer_country = rng.choice(len(COUNTRIES), n, p=COUNTRY_SHARE).astype(np.int16)
    city_choice = rng.integers(0, 1 << 30, n)
    city_count = np.array([len(c[4]) for c in COUNTRIES])
    city_offset = np.concatenate([[0], np.cumsum(city_count)])
    all_cities = tuple(city for c in COUNTRIES for city in c[4])
    city_code = city_offset[customer_country] + city_choice % city_count[customer_country]
    age = np.clip(np.round(rng.gamma(6.0, 6.5, n) + 16), 18, 90).astype(np.int16)
    # 85% registered in the three years before the start, 15% register during the first year
    early = rng.random(n) < 0.85
    registered_us = np.where(
        early,
        start_us - (rng.random(n) * 3 * 365 * MICROS_PER_DAY).astype(np.int64),
        start_us + (rng.random(n) * 365 * MICROS_PER_DAY).astype(np.int64),
    )
    registered_us -= registered_us % 1_000_000
    activity = rng.gamma(0.45, 1.0, n)  # heavy-tailed visit frequency: many one-off, a few regulars
    spend = rng.lognormal(0.0, 0.45, n)  # how much a customer buys per order
    first = rng.integers(len(FIRST_NAMES), size=n)
    last = rng.integers(len(LAST_NAMES), size=n)
    customer_ids = digit_matrix("C", np.arange(1, n + 1), 8)
    id_array = pa.Array.from_buffers(
        pa.string(),
        n,
        [None, pa.py_buffer(np.arange(0, 9 * (n + 1), 9, dtype=np.int32)), pa.py_buffer(customer_ids)],
    )
    first_names, last_names = _strings(FIRST_NAMES, first), _strings(LAST_NAMES, last)
    names = pc.binary_join_element_wise(first_names, last_names, " ")
    email = pc.binary_join_element_wise(
        pc.utf8_lower(first_names),
        ".",
        pc.utf8_lower(last_names),
        ".",
        pc.utf8_slice_codeunits(id_array, 1),
        "@example.com",
        "",
    )
    customers = pa.table(
        [
            id_array,
            email,
            names,
            category(customer_country, COUNTRY_CODES),
            _strings(all_cities, city_code),
            pa.array(age),
            pa.array(registered_us).view(pa.timestamp("us", tz="UTC")),
        ],
        schema=CUSTOMERS_SCHEMA,
    )
    customers_by_country = WeightedGroups.of(customer_country, activity, len(COUNTRIES))

    # catalogue
    m = settings.products
    product_category = rng.choice(len(CATEGORIES), m, p=CATEGORY_SHARE).astype(np.int16)
    median = np.array([c[2] for c in CATEGORIES])[product_category]
    sigma = np.array([c[3] for c in CATEGORIES])[product_category]
    price_cents = np.clip(np.round(median * np.exp(rng.normal(0, 1, m) * sigma) / 10) * 10 - 1, 99, 199_999)
    price_cents = price_cents.astype(np.int64)
    cost_cents = np.round(price_cents * rng.uniform(0.35, 0.7, m)).astype(np.int64)
    rating = np.round(np.clip(5 - rng.gamma(1.6, 0.45, m), 1, 5), 1).astype(np.float32)
    popularity = 1.0 / np.power(rng.permutation(m) + 1.0, 0.9)  # Zipf-like: a few best sellers
    inventory = np.maximum(20, rng.poisson(40 + 4000 * popularity / popularity.max())).astype(np.int64)
    # products are drawn from a lookup table built from these (below), not searched
    by_category, category_bounds, popularity_cdf = _grouped_cdf(product_category, popularity, len(CATEGORIES))
    # a bundle partner in the same category (the next product in popularity order, cyclic)
    partner = np.empty(m, dtype=np.int64)
    for c in range(len(CATEGORIES)):
        members = by_category[category_bounds[c] : category_bounds[c + 1]]
        if len(members):
            ranked = members[np.argsort(-popularity[members], kind="stable")]
            partner[ranked] = np.roll(ranked, -1)
    brand_lists = [c[4] for c in CATEGORIES]
    brand_pick = rng.integers(0, 1 << 30, m)
    brand_code = np.array(
        [
            BRAND_NAMES.index(brand_lists[c][k % len(brand_lists[c])])
            for c, k in zip(product_category, brand_pick, strict=True)
        ]
    )
    noun_lists = [c[5] for c in CATEGORIES]
    noun_pick = rng.integers(0, 1 << 30, m)
    adjective = rng.integers(len(ADJECTIVES), size=m)
    product_names = [
        f"{BRAND_NAMES[b]} {ADJECTIVES[a]} {noun_lists[c][k % len(noun_lists[c])]}"
        for b, a, c, k in zip(brand_code, adjective, product_category, noun_pick, strict=True)
    ]
    product_ids = digit_matrix("P", np.arange(1, m + 1), 6)
    products = pa.table(
        [
            pa.Array.from_buffers(
                pa.string(),
                m,
                [None, pa.py_buffer(np.arange(0, 7 * (m + 1), 7, dtype=np.int32)), pa.py_buffer(product_ids)],
            ),
            pa.Array.from_buffers(
                pa.string(),
                m,
                [
                    None,
                    pa.py_buffer(np.arange(0, 10 * (m + 1), 10, dtype=np.int32)),
                    pa.py_buffer(digit_matrix("SKU", rng.permutation(m) + 1_000_000, 7)),
                ],
            ),
            pa.array(product_names),
            category(product_category, CATEGORY_NAMES),
            category(brand_code, BRAND_NAMES),
            money(price_cents),
            money(cost_cents),
            pa.array(inventory.astype(np.int32)),
            pa.array(rating),
        ],
        schema=PRODUCTS_SCHEMA,
    )
    table_parts = []
    for c in range(len(CATEGORIES)):
        lo, hi = category_bounds[c], category_bounds[c + 1]
        slots = 16 * int(hi - lo)
        if slots == 0:
            table_parts.append(np.zeros(0, dtype=np.int64))
            continue
        cdf = popularity_cdf[lo + 1 : hi + 1] - popularity_cdf[lo]
        quantiles = (np.arange(slots) + 0.5) / slots * cdf[-1]
        table_parts.append(by_category[lo + np.minimum(np.searchsorted(cdf, quantiles), hi - lo - 1)])
    product_table = np.concatenate(table_parts)
    product_table_sizes = np.array([len(t) for t in table_parts], np.int64)
    return World(
        customers=customers,
        products=products,
        stores=stores,
        customer_ids=customer_ids,
        customer_country=customer_country,
        customer_registered_us=registered_us,
        customers_by_country=customers_by_country,
        customer_spend=spend,
        customer_age=age,
        product_ids=product_ids,
        product_category=product_category,
        product_price_cents=price_cents,
        product_inventory=inventory,
        product_rating=rating,
        product_partner=partner,
        product_table=product_table,
        product_table_start=np.cumsum(product_table_sizes) - product_table_sizes,
        product_table_size=product_table_sizes.astype(np.float64),
        store_ids=store_ids,
        store_country=store_country,
        stores_by_country=WeightedGroups.of(store_country, np.ones(n_stores), len(COUNTRIES)),
    )


def start_micros(start: datetime) -> int:
    """Epoch microseconds of a UTC datetime."""
    return int(start.timestamp()) * 1_000_000


__all__ = ["WeightedGroups", "World", "build_world", "start_micros"]
