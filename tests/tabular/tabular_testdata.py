"""A small seeded table with what synthesizers must handle: a bimodal amount, an integer age, a
category that depends on the amount, missing cells, an identifier column and a binary target."""

import csv

import numpy as np


def people_columns(rows: int = 600, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    group = rng.random(rows) < 0.4
    amount = np.where(group, rng.normal(20.0, 2.0, rows), rng.normal(80.0, 5.0, rows))
    age = rng.integers(18, 90, rows)
    sex = np.where(rng.random(rows) < 0.5, "Female", "Male")
    plan = np.where(group, "basic", np.where(rng.random(rows) < 0.7, "premium", "gold"))
    label = (amount + rng.normal(0, 10, rows) > 55).astype(int)
    score = np.round(rng.normal(0.5, 0.1, rows), 3).astype(str)
    score[rng.random(rows) < 0.1] = ""
    return {
        "customer_id": np.array([f"C{i:05d}" for i in range(rows)]),
        "amount": np.array([f"{v:.2f}" for v in amount]),
        "age": age.astype(str),
        "sex": sex,
        "plan": plan,
        "score": score,
        "label": label.astype(str),
    }


def write_people_csv(path, rows: int = 600, seed: int = 0):
    columns = people_columns(rows, seed)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(list(columns))
        writer.writerows(zip(*columns.values(), strict=True))
    return path
