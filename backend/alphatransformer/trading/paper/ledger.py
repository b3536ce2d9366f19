"""The paper wallet as an income ledger shaped like Binance's `GET /fapi/v1/income`.

The wallet balance is nothing but the sum of the ledger, so "the balance agrees with PnL, fees
and funding to the cent" holds by construction and can be audited entry by entry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

# Binance books USDT amounts to 8 decimals; quantizing every entry also keeps Decimal
# arithmetic from growing digits over a long backtest.
USDT_QUANTUM = Decimal("0.00000001")


def usdt(amount: Decimal) -> Decimal:
    """An amount as Binance books it: 8 decimals, half up."""
    return amount.quantize(USDT_QUANTUM, rounding=ROUND_HALF_UP)


class IncomeType(StrEnum):
    """The `incomeType` values of Binance's income history that the paper exchange produces."""

    TRANSFER = "TRANSFER"
    REALIZED_PNL = "REALIZED_PNL"
    COMMISSION = "COMMISSION"
    FUNDING_FEE = "FUNDING_FEE"
    INSURANCE_CLEAR = "INSURANCE_CLEAR"


@dataclass(frozen=True, slots=True)
class IncomeRecord:
    """One wallet movement; `income` is signed (a paid fee is negative)."""

    tran_id: int
    symbol: str
    income_type: IncomeType
    income: Decimal
    asset: str
    info: str
    time_ms: int


class Ledger:
    """Append-only wallet history of one asset, with its running balance."""

    def __init__(self, asset: str) -> None:
        self._asset = asset
        self._records: list[IncomeRecord] = []
        self._balance = Decimal(0)

    @classmethod
    def restored(cls, asset: str, records: Sequence[IncomeRecord]) -> Ledger:
        """The ledger whose `entries()` were `records` (numbered 1, 2, 3... as it numbers them)."""
        ledger = cls(asset)
        ledger._records = list(records)
        ledger._balance = sum((record.income for record in records), Decimal(0))
        return ledger

    @property
    def balance(self) -> Decimal:
        return self._balance

    @property
    def last_tran_id(self) -> int:
        """Id of the newest entry; 0 when there is none."""
        return len(self._records)

    def record(
        self,
        income_type: IncomeType,
        amount: Decimal,
        *,
        time_ms: int,
        symbol: str = "",
        info: str = "",
    ) -> Decimal:
        """Book `amount` (quantized to 8 decimals) and return what was booked.

        A zero amount is not recorded, as Binance lists no zero incomes.
        """
        booked = usdt(amount)
        if booked != 0:
            record = IncomeRecord(
                len(self._records) + 1, symbol, income_type, booked, self._asset, info, time_ms
            )
            self._records.append(record)
            self._balance += booked
        return booked

    def entries_after(self, tran_id: int) -> list[IncomeRecord]:
        """Entries booked after entry `tran_id`, oldest first."""
        return self._records[tran_id:]

    def entries(
        self, symbol: str | None = None, income_type: IncomeType | None = None
    ) -> list[IncomeRecord]:
        """Entries oldest first, optionally of one symbol and one type."""
        return [
            r
            for r in self._records
            if (symbol is None or r.symbol == symbol)
            and (income_type is None or r.income_type is income_type)
        ]
