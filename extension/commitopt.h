/*-------------------------------------------------------------------------
 *
 * commitopt.h
 *	  Declarations shared by the commitopt extension's source files.
 *
 * extension/commitopt.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef COMMITOPT_H
#define COMMITOPT_H

#include "datatype/timestamp.h"

/*
 * Each concern that has settings registers them in a function of its own,
 * called from _PG_init (commitopt.c).
 */

/* password_policy.c: commitopt.password_* and the role password hook */
extern void define_password_settings(void);

/* claim.c: commitopt.claim and commitopt.clock */
extern void define_claim_settings(void);
extern TimestampTz clock_now(void);

/* session.c: commitopt.session_* and commitopt.login_* */
extern void define_session_settings(void);

/* worker_sessions.c: the session reaper background worker */
extern void define_session_worker(void);

#endif							/* COMMITOPT_H */
