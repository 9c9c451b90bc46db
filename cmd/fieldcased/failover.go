package main

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/fieldcase/fieldcase/sync/server/pgstore"
)

// failoverCollector exports what the PostgreSQL store knows of failovers
// (sync/server/pgstore/timeline.go): the timeline it writes on, and how
// often it refused a connection to a superseded primary.
type failoverCollector struct {
	st               *pgstore.Store
	timeline, fenced *prometheus.Desc
}

func newFailoverCollector(st *pgstore.Store) *failoverCollector {
	return &failoverCollector{
		st:       st,
		timeline: prometheus.NewDesc("fieldcased_db_timeline", "The highest PostgreSQL timeline seen on the database's primary (it grows at each failover).", nil, nil),
		fenced:   prometheus.NewDesc("fieldcased_db_fenced_total", "Connections and transactions refused because they reached a primary superseded by a failover.", nil, nil),
	}
}

func (c *failoverCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.timeline
	ch <- c.fenced
}

func (c *failoverCollector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(c.timeline, prometheus.GaugeValue, float64(c.st.Timeline()))
	ch <- prometheus.MustNewConstMetric(c.fenced, prometheus.CounterValue, float64(c.st.Fenced()))
}
