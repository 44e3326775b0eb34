"""Where npmguard keeps what it learned: one protocol for every store, and its back ends.

:class:`~npmguard.store.base.Store` is what every store offers (the facts cache, the feed
store, the names index); :mod:`npmguard.store.sqlite` is the one path that opens, migrates,
recovers and closes their SQLite files. The team cache is a second back end: a shared Redis
(:mod:`npmguard.store.redis`, the facts in :mod:`npmguard.store.redis_facts`) layered behind
the local SQLite file by :mod:`npmguard.store.layered`.
"""
