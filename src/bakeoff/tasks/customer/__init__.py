"""The customer task: a transaction log, and per customer their purchases, P(active), spend and
value, by the ladder from past rates and RFM cells to BG/NBD, Pareto/NBD and boosting (`CUSTOMER`)."""


def __getattr__(name: str):
    if name == "CUSTOMER":  # imported on first use: the card's schema imports this package's section
        from bakeoff.tasks.customer.task import CUSTOMER

        return CUSTOMER
    raise AttributeError(name)
