/*
 * http.h: client connections (HTTPS API port and plain-HTTP redirect port).
 */
#ifndef GW_HTTP_H
#define GW_HTTP_H

#include <event2/event.h>

#include "config.h"

extern int	gw_http_start(struct event_base *base, const gw_config *cfg);
extern void gw_http_shutdown(void (*drained) (void));
extern void gw_http_stop(void);

#endif
