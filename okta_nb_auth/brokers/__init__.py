"""One holder of the refresh token, many borrowers of access tokens.

The notebook's session (an :class:`~okta_nb_auth.OktaAuth`) is the only object that holds a
login's refresh token. Other processes (Dask workers; later a Hub's kernels, Ray actors) get
:class:`BorrowedAuth`: an :class:`httpx.Auth` that signs with access tokens lent to them and
asks for a fresh one when due or after a 401. The pieces, engine-neutral:

* :mod:`._lease`: what crosses processes (:class:`Parcel`) and what a borrower signs with
  (:class:`Lease`); :mod:`._seal`: the token is sealed to the asking borrower's key;
* :mod:`._lending`: the holder's side (:class:`Lending`): one refresh per generation for all;
* :mod:`._borrowed`: the borrower's side (:class:`BorrowedAuth`, a :class:`Lender` protocol).

An engine adds only transport: :mod:`okta_nb_auth.dask` carries asks and parcels over Dask's
own messages.
"""

from ._borrowed import BorrowedAuth, Lender
from ._lease import Lease, Parcel
from ._lending import Lending, LocalLender

__all__ = ["BorrowedAuth", "Lease", "Lender", "Lending", "LocalLender", "Parcel"]
