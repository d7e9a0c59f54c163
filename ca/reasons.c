/*
 * ca/reasons.c - the revocation reasons of RFC 5280 5.3.1: the one
 * definition of which a certificate may be revoked with (for the engine,
 * the CRL encoder, the linter, the CLI and the API), and their names.
 */
#include "ca/ca.h"

#include <stddef.h>
#include <strings.h>

/* Indexed by CRLReason value; NULL where there is no reason mica uses. */
static const char *const reason_names[CA_REASON_MAX + 1] = {
	[CA_REASON_UNSPECIFIED]         = "unspecified",
	[CA_REASON_KEY_COMPROMISE]      = "keyCompromise",
	[CA_REASON_CA_COMPROMISE]       = "cACompromise",
	[CA_REASON_AFFILIATION_CHANGED] = "affiliationChanged",
	[CA_REASON_SUPERSEDED]          = "superseded",
	[CA_REASON_CESSATION]           = "cessationOfOperation",
	[CA_REASON_HOLD]                = "certificateHold",
	[CA_REASON_PRIVILEGE_WITHDRAWN] = "privilegeWithdrawn",
	[CA_REASON_AA_COMPROMISE]       = "aACompromise",
};

int
ca_reason_valid(int reason)
{
	return reason >= 0 && reason <= CA_REASON_MAX &&
	       reason_names[reason] != NULL;
}

int
ca_reason_parse(const char *s)
{
	if (s == NULL)
		return -1;
	for (int i = 0; i <= CA_REASON_MAX; i++)
		if (ca_reason_valid(i) && strcasecmp(s, reason_names[i]) == 0)
			return i;
	return -1;
}

const char *
ca_reason_name(int reason)
{
	return ca_reason_valid(reason) ? reason_names[reason] : "unknown";
}

int
ca_reason_condemns_key(int reason, int ca_cert)
{
	if (reason == CA_REASON_KEY_COMPROMISE)
		return 1;
	if (!ca_cert)
		return 0;
	switch (reason) {
	case CA_REASON_AFFILIATION_CHANGED:
	case CA_REASON_SUPERSEDED:
	case CA_REASON_CESSATION:
	case CA_REASON_HOLD:
	case CA_REASON_PRIVILEGE_WITHDRAWN:
		return 0;
	}
	return 1;
}

int
ca_reason_raisable(int reason)
{
	switch (reason) {
	case CA_REASON_UNSPECIFIED:
	case CA_REASON_AFFILIATION_CHANGED:
	case CA_REASON_SUPERSEDED:
	case CA_REASON_CESSATION:
	case CA_REASON_PRIVILEGE_WITHDRAWN:
		return 1;
	}
	return 0;
}
