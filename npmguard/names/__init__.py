"""Pure analysis of package names: campaign name shapes and popularity.

Nothing here reads the lockfile or the network; the word lists and the popular-names data are
package data, loaded on first use and cached.
"""

from __future__ import annotations

from npmguard.names.classify import NameVerdict, classify
from npmguard.names.tokens import Token, split_scope, tokenize

__all__ = ["NameVerdict", "Token", "classify", "split_scope", "tokenize"]
