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

/*
 * Each concern that has settings registers them in a function of its own,
 * called from _PG_init (commitopt.c).
 */

/* password_policy.c: commitopt.password_* and the role password hook */
extern void define_password_settings(void);

/* audit_settings.c: commitopt.audit_retention_days */
extern void define_audit_settings(void);

#endif							/* COMMITOPT_H */
