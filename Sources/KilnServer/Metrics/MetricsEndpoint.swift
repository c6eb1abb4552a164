import Foundation
import Hummingbird
import KilnMetrics
import Logging
import Prometheus
import NIOCore
import ServiceLifecycle
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// `GET /metrics` on its own HTTP/1.1 port: every ``KilnMetrics`` metric, and the
/// process's own (`process_resident_memory_bytes`, `process_open_fds`,
/// `process_start_time_seconds`), in Prometheus' text format.
///
/// Served by Hummingbird (the HTTP server the web monitor will use too). It is
/// unauthenticated, as Prometheus scrapes are by default: it shows counts and
/// timings, never a job's parameters or a token. It binds where `--metrics-host` says
/// (kilnd's `--host` unless given), so keep it on a private address.
struct MetricsEndpoint {
  let metrics: KilnMetrics
  let process: ProcessMetrics

  init(metrics: KilnMetrics) {
    self.metrics = metrics
    self.process = ProcessMetrics(metrics: metrics)
  }

  /// The Hummingbird application, as a `Service`; `bound` receives the port it
  /// listens on (useful with port 0).
  func application(host: String, port: Int, logger: Logger, bound: @escaping @Sendable (Int) -> Void)
    -> some Service
  {
    let router = Router()
    let (metrics, process) = (self.metrics, self.process)
    router.get("/metrics") { _, _ -> Response in
      process.update()
      var buffer = ByteBuffer()
      buffer.writeBytes(metrics.exposition())
      return Response(
        status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
        body: ResponseBody(byteBuffer: buffer))
    }
    let endpointLogger = {
      var logger = logger
      logger[metadataKey: "endpoint"] = "metrics"
      return logger
    }()
    return Application(
      router: router, configuration: .init(address: .hostname(host, port: port), serverName: "kilnd"),
      onServerRunning: { channel in
        let port = channel.localAddress?.port ?? port
        endpointLogger.notice("serving Prometheus metrics on http://\(host):\(port)/metrics")
        bound(port)
      },
      logger: endpointLogger)
  }
}

/// The standard process metrics of Prometheus' client libraries, read from `/proc`
/// at each scrape (Linux).
struct ProcessMetrics: Sendable {
  let residentMemory: Prometheus.Gauge
  let openDescriptors: Prometheus.Gauge

  init(metrics: KilnMetrics) {
    let registry = metrics.registry
    residentMemory = registry.makeGauge(
      name: "process_resident_memory_bytes", labels: [], help: "Resident memory size in bytes")
    openDescriptors = registry.makeGauge(name: "process_open_fds", labels: [], help: "Number of open file descriptors")
    let start = registry.makeGauge(
      name: "process_start_time_seconds", labels: [], help: "Start time of the process since the Unix epoch in seconds")
    start.set(ProcessMetrics.startTime ?? Date().timeIntervalSince1970)
  }

  /// Reads resident memory and open descriptors now.
  func update() {
    #if os(Linux)
      if let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8),
        let pages = statm.split(separator: " ").dropFirst().first.flatMap({ Double($0) })
      {
        residentMemory.set(pages * Double(sysconf(Int32(_SC_PAGESIZE))))
      }
      if let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") {
        openDescriptors.set(Double(entries.count - 1))  // less the one the listing itself opened
      }
    #endif
  }

  /// When this process started: boot time plus the start tick in `/proc/self/stat`.
  static let startTime: Double? = {
    #if os(Linux)
      guard let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
        let close = stat.lastIndex(of: ")"),
        let system = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
        let bootLine = system.split(separator: "\n").first(where: { $0.hasPrefix("btime ") }),
        let boot = Double(bootLine.dropFirst(6))
      else { return nil }
      // Fields after the command name: the 20th of them (field 22 of the whole line) is the start time in ticks.
      let fields = stat[stat.index(after: close)...].split(separator: " ")
      guard fields.count > 19, let ticks = Double(fields[19]) else { return nil }
      return boot + ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
    #else
      return nil
    #endif
  }()
}
