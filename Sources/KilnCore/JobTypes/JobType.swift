/// A named, server-side template of ordered steps that jobs are submitted against.
///
/// Types come from the server's configuration. Clients choose a type and give
/// parameters; they never send commands to execute.
public struct JobType: Sendable, Hashable, Codable {
  /// The type's name, e.g. `INDEX_BUILD`.
  public var name: String
  /// What the type does, for people.
  public var description: String
  /// The steps every job of this type runs, in order.
  public var steps: [StepDefinition]
  /// The parameters the type reads.
  public var params: [ParamDefinition]
  /// An `http://` or `https://` URL that receives a JSON POST each time a job of this
  /// type reaches FINISHED, ERROR or DISCARDED (Kylin's finished-notifier); `nil` for none.
  ///
  /// Configuration file key: `callback_url`. The catalog checks it when it loads.
  public var callbackURL: String?

  /// Creates a job type.
  public init(
    name: String, description: String = "", steps: [StepDefinition], params: [ParamDefinition] = [],
    callbackURL: String? = nil
  ) {
    self.name = name
    self.description = description
    self.steps = steps
    self.params = params
    self.callbackURL = callbackURL
  }

  enum CodingKeys: String, CodingKey {
    case name, description, steps, params
    case callbackURL = "callback_url"
  }

  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    name = try c.decode(String.self, forKey: .name)
    description = try c.decodeIfPresent(String.self, forKey: .description) ?? ""
    steps = try c.decode([StepDefinition].self, forKey: .steps)
    params = try c.decodeIfPresent([ParamDefinition].self, forKey: .params) ?? []
    callbackURL = try c.decodeIfPresent(String.self, forKey: .callbackURL)
  }

  /// Checks the parameters of a submission and fills in defaults.
  ///
  /// - Returns: The parameters the job will run with.
  /// - Throws: ``KilnError`` (invalid argument) naming the first missing required parameter.
  public func resolveParams(_ given: [String: String]) throws(KilnError) -> [String: String] {
    try InputLimits.checkParams(given)
    var resolved = given
    for param in params {
      if let value = resolved[param.name], !value.isEmpty { continue }
      if let defaultValue = param.defaultValue {
        resolved[param.name] = defaultValue
      } else if param.required {
        throw .invalidArgument(field: "params.\(param.name)", "required by job type \(name)")
      }
    }
    for key in resolved.keys where key.isEmpty {
      throw .invalidArgument(field: "params", "a parameter name is empty")
    }
    return resolved
  }
}

/// A parameter a job type reads.
public struct ParamDefinition: Sendable, Hashable, Codable {
  /// The parameter's name.
  public var name: String
  /// Whether a submission must give it (unless it has a default).
  public var required: Bool
  /// The value used when a submission does not give one.
  public var defaultValue: String?
  /// What the parameter means, for people.
  public var description: String

  /// Creates a parameter definition.
  public init(name: String, required: Bool = false, defaultValue: String? = nil, description: String = "") {
    self.name = name
    self.required = required
    self.defaultValue = defaultValue
    self.description = description
  }

  enum CodingKeys: String, CodingKey { case name, required, defaultValue = "default", description }

  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    name = try c.decode(String.self, forKey: .name)
    required = try c.decodeIfPresent(Bool.self, forKey: .required) ?? false
    defaultValue = try c.decodeIfPresent(String.self, forKey: .defaultValue)
    description = try c.decodeIfPresent(String.self, forKey: .description) ?? ""
  }
}
