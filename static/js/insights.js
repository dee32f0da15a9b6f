/* The insights overview's charts (annotation/views/insights.py), drawn with the vendored uPlot.
 *
 * The figures come from the data-figures attribute of #dashboard-data (JSON; a data attribute
 * rather than a JSON <script>, which htmx drops from swapped content); every point carries the explorer URL of its bucket and slice,
 * and a click on the chart opens the one nearest the pointer. The tables under each chart hold the
 * same links, so everything works without this script.
 */
(function () {
  "use strict";

  var COLORS = ["#0b5cad", "#b3261e", "#1d7f3a", "#9a5b00", "#6b3fa0", "#00838f", "#5d4037", "#c2185b"];
  var HEIGHT = 220;

  function format(kind, value) {
    if (value === null || value === undefined) {
      return "–";
    }
    if (kind === "rate") {
      return (value * 100).toFixed(1) + "%";
    }
    if (kind === "mean") {
      return value.toFixed(3);
    }
    return Math.round(value).toLocaleString();
  }

  function nearestSeries(plot, chart, index) {
    if (chart.series.length === 1) {
      return 0;
    }
    var wanted = plot.posToVal(plot.cursor.top, "y");
    var best = -1;
    var distance = Infinity;
    chart.series.forEach(function (series, i) {
      var value = series.values[index];
      if (value !== null && Math.abs(value - wanted) < distance) {
        distance = Math.abs(value - wanted);
        best = i;
      }
    });
    return best;
  }

  function draw(holder, chart) {
    var width = Math.max(240, holder.clientWidth || 600);
    var series = [{}].concat(chart.series.map(function (entry, i) {
      return {
        label: entry.label,
        stroke: COLORS[i % COLORS.length],
        width: 2,
        spanGaps: false,
        points: { show: true, size: 6 },
        value: function (plot, value) { return format(chart.kind, value); }
      };
    }));
    var options = {
      width: width,
      height: HEIGHT,
      series: series,
      tzDate: function (seconds) { return uPlot.tzDate(new Date(seconds * 1000), "Etc/UTC"); },
      scales: { y: chart.kind === "rate" ? { range: [0, 1] } : {} },
      axes: [{}, { size: 66, values: function (plot, ticks) { return ticks.map(function (tick) { return format(chart.kind, tick); }); } }],
      cursor: { focus: { prox: 30 } },
      legend: { live: true }
    };
    var data = [chart.x].concat(chart.series.map(function (entry) { return entry.values; }));
    var plot = new uPlot(options, data, holder);
    plot.over.classList.add("clickable");
    plot.over.addEventListener("click", function () {
      var index = plot.cursor.idx;
      if (index === null || index === undefined) {
        return;
      }
      var which = nearestSeries(plot, chart, index);
      var href = which >= 0 ? chart.series[which].hrefs[index] : "";
      if (href) {
        window.location.assign(href);
      }
    });
    return plot;
  }

  var plots = [];

  function render() {
    var source = document.getElementById("dashboard-data");
    if (!source || typeof uPlot === "undefined") {
      return;
    }
    plots = plots.filter(function (plot) { return document.body.contains(plot.root); });
    var figures = JSON.parse(source.dataset.figures || '{"charts": []}');
    figures.charts.forEach(function (chart) {
      var holder = document.getElementById(chart.id);
      if (!holder || holder.dataset.drawn === "1") {
        return;
      }
      holder.dataset.drawn = "1";
      plots.push({ plot: draw(holder, chart), holder: holder, root: holder });
    });
  }

  var resizing = null;
  window.addEventListener("resize", function () {
    window.clearTimeout(resizing);
    resizing = window.setTimeout(function () {
      plots.forEach(function (entry) {
        entry.plot.setSize({ width: Math.max(240, entry.holder.clientWidth), height: HEIGHT });
      });
    }, 150);
  });

  document.addEventListener("DOMContentLoaded", render);
  document.body.addEventListener("htmx:afterSettle", render);
})();
