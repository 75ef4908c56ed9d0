//! What a query costs, read against the supergraph before any subgraph is called.
//!
//! The rule (the IBM/GraphQL-cost-spec shape, without `@cost` directives in our SDL):
//! every field costs 1; a field with a page-size argument (`first` or `last`) multiplies
//! the cost of what is selected under it by the page size asked for (or the argument's
//! default, or `default_page_size`); a list field without one multiplies by
//! `default_list_size`, except `edges`/`nodes` of a `…Connection`, whose size its parent
//! already counted. Nested lists multiply. Fragments count where they are spread.
//!
//! Hive Router 0.3.10 has demand control, but it sizes lists only from `@listSize`
//! directives, which the subgraphs do not export, and it has one maximum for everyone;
//! the issue asks for a far lower maximum for anonymous callers.

use std::collections::HashMap;

use async_graphql_parser::Positioned;
use async_graphql_parser::types::{
    BaseType, DocumentOperations, ExecutableDocument, FragmentDefinition, OperationDefinition,
    Selection, SelectionSet, TypeKind, TypeSystemDefinition,
};
use async_graphql_value::{Name, Value};

/// Page-size arguments.
const PAGE_ARGUMENTS: [&str; 2] = ["first", "last"];

/// How many selections one analysis may visit: fragments spread inside fragments can make
/// a small document name billions of fields, and the guard must stay cheap itself.
const MAX_VISITS: usize = 20_000;

/// How deep selection sets and fragment spreads may nest while pricing.
const MAX_NESTING: usize = 64;

/// One field of an object or interface type, as far as cost is concerned.
#[derive(Debug, Clone)]
struct FieldShape {
    /// The named type under all list and non-null wrappers.
    ty: String,
    list: bool,
    /// `Some` when the field takes `first`/`last`: the default page size it declares.
    paged: Option<Option<u64>>,
}

/// The supergraph's output types: type → field → shape.
#[derive(Debug, Default)]
pub struct CostSchema {
    types: HashMap<String, HashMap<String, FieldShape>>,
    default_page_size: u64,
    default_list_size: u64,
}

/// Why a document could not be priced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CostError {
    /// Fragments expanding into more than [`MAX_VISITS`] selections or nesting deeper than
    /// [`MAX_NESTING`] (a fragment cycle does both).
    #[error("the document expands to more than {MAX_VISITS} selections or {MAX_NESTING} levels")]
    TooManySelections,
}

impl CostSchema {
    /// Reads the output types of a supergraph SDL.
    pub fn parse(
        sdl: &str,
        default_page_size: u64,
        default_list_size: u64,
    ) -> anyhow::Result<Self> {
        let document = async_graphql_parser::parse_schema(sdl)?;
        let mut types: HashMap<String, HashMap<String, FieldShape>> = HashMap::new();
        for definition in document.definitions {
            let TypeSystemDefinition::Type(ty) = definition else {
                continue;
            };
            let ty = ty.node;
            let fields = match ty.kind {
                TypeKind::Object(object) => object.fields,
                TypeKind::Interface(interface) => interface.fields,
                _ => continue,
            };
            let entry = types.entry(ty.name.node.to_string()).or_default();
            for field in fields {
                let field = field.node;
                let mut base = &field.ty.node.base;
                let mut list = false;
                while let BaseType::List(inner) = base {
                    list = true;
                    base = &inner.base;
                }
                let BaseType::Named(named) = base else {
                    continue;
                };
                let paged = field
                    .arguments
                    .iter()
                    .find(|a| PAGE_ARGUMENTS.contains(&a.node.name.node.as_str()))
                    .map(|a| {
                        a.node.default_value.as_ref().and_then(|v| match &v.node {
                            async_graphql_value::ConstValue::Number(n) => n.as_u64(),
                            _ => None,
                        })
                    });
                entry.insert(
                    field.name.node.to_string(),
                    FieldShape {
                        ty: named.to_string(),
                        list,
                        paged,
                    },
                );
            }
        }
        Ok(Self {
            types,
            default_page_size,
            default_list_size,
        })
    }

    /// The cost of `operation` with `variables` (a JSON object, or null).
    pub fn cost(
        &self,
        document: &ExecutableDocument,
        operation: &OperationDefinition,
        variables: &serde_json::Value,
    ) -> Result<u64, CostError> {
        let root = match operation.ty {
            async_graphql_parser::types::OperationType::Query => "Query",
            async_graphql_parser::types::OperationType::Mutation => "Mutation",
            async_graphql_parser::types::OperationType::Subscription => "Subscription",
        };
        let mut walk = Walk {
            schema: self,
            fragments: &document.fragments,
            variables,
            visits: 0,
        };
        walk.selection_set(&operation.selection_set.node, root, 0)
    }
}

struct Walk<'a> {
    schema: &'a CostSchema,
    fragments: &'a HashMap<Name, Positioned<FragmentDefinition>>,
    variables: &'a serde_json::Value,
    visits: usize,
}

impl Walk<'_> {
    fn selection_set(
        &mut self,
        set: &SelectionSet,
        ty: &str,
        depth: usize,
    ) -> Result<u64, CostError> {
        // Fragment spreads nest without braces (and may form a cycle): bound the recursion.
        let depth = depth + 1;
        if depth > MAX_NESTING {
            return Err(CostError::TooManySelections);
        }
        let mut total = 0u64;
        for item in &set.items {
            self.visits += 1;
            if self.visits > MAX_VISITS {
                return Err(CostError::TooManySelections);
            }
            let cost = match &item.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    let shape = self
                        .schema
                        .types
                        .get(ty)
                        .and_then(|fields| fields.get(field.name.node.as_str()));
                    let Some(shape) = shape else {
                        // __typename, introspection, or a field validation will refuse.
                        let below = self.selection_set(&field.selection_set.node, "", depth)?;
                        total = total.saturating_add(1u64.saturating_add(below));
                        continue;
                    };
                    let size = match shape.paged {
                        Some(default) => field
                            .arguments
                            .iter()
                            .find(|(name, _)| PAGE_ARGUMENTS.contains(&name.node.as_str()))
                            .and_then(|(_, value)| self.number(&value.node))
                            .or(default)
                            .unwrap_or(self.schema.default_page_size),
                        None if shape.list
                            && ty.ends_with("Connection")
                            && matches!(field.name.node.as_str(), "edges" | "nodes") =>
                        {
                            1
                        }
                        None if shape.list => self.schema.default_list_size,
                        None => 1,
                    };
                    let below = self.selection_set(&field.selection_set.node, &shape.ty, depth)?;
                    1u64.saturating_add(size.saturating_mul(below))
                }
                Selection::FragmentSpread(spread) => {
                    let Some(fragment) = self.fragments.get(&spread.node.fragment_name.node) else {
                        continue;
                    };
                    let on = fragment.node.type_condition.node.on.node.to_string();
                    self.selection_set(&fragment.node.selection_set.node, &on, depth)?
                }
                Selection::InlineFragment(inline) => {
                    let on = inline
                        .node
                        .type_condition
                        .as_ref()
                        .map(|c| c.node.on.node.to_string())
                        .unwrap_or_else(|| ty.to_owned());
                    self.selection_set(&inline.node.selection_set.node, &on, depth)?
                }
            };
            total = total.saturating_add(cost);
        }
        Ok(total)
    }

    /// A page size given as a literal or a variable; a negative or absent one is `None`.
    fn number(&self, value: &Value) -> Option<u64> {
        match value {
            Value::Number(n) => n.as_u64(),
            Value::Variable(name) => self.variables.get(name.as_str())?.as_u64(),
            _ => None,
        }
    }
}

/// The operation a request runs: the named one, or the only one. `Err` names the problem
/// (the GraphQL spec's GetOperation: a document with several operations needs a name).
pub fn select_operation<'a>(
    document: &'a ExecutableDocument,
    name: Option<&str>,
) -> Result<&'a OperationDefinition, Option<String>> {
    match (&document.operations, name) {
        (DocumentOperations::Single(op), None) => Ok(&op.node),
        (DocumentOperations::Single(_), Some(_)) => Err(None),
        // The parser keeps every named operation in `Multiple`, even a lone one.
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => {
            ops.values().next().map(|op| &op.node).ok_or(None)
        }
        (DocumentOperations::Multiple(ops), None) => Err(Some(format!(
            "the document holds {} operations: `operationName` must say which one to run",
            ops.len()
        ))),
        (DocumentOperations::Multiple(ops), Some(name)) => {
            ops.get(name).map(|op| &op.node).ok_or(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SDL: &str = r#"
        type Query { unit(id: ID!): Unit, units: [Unit!]! }
        type Unit { id: ID!, parent: Unit, children(first: Int, after: String): UnitConnection!, tags: [String!]! }
        type UnitConnection { edges: [UnitEdge!]!, nodes: [Unit!]! }
        type UnitEdge { node: Unit! }
    "#;

    fn cost(query: &str, variables: serde_json::Value) -> u64 {
        let schema = CostSchema::parse(SDL, 20, 10).expect("sdl");
        let doc = async_graphql_parser::parse_query(query).expect("query");
        let op = select_operation(&doc, None).expect("one operation");
        schema.cost(&doc, op, &variables).expect("cost")
    }

    #[test]
    fn nested_pages_multiply() {
        // unit(1) + children(1 + 1000 * (nodes 1 + 1 * (id 1)))
        assert_eq!(
            cost(
                "{ unit(id: 1) { children(first: 1000) { nodes { id } } } }",
                serde_json::Value::Null
            ),
            1 + 1 + 1000 * 2
        );
        let four = "{ unit(id: 1) { children(first: 1000) { nodes { parent { children(first: 1000) { nodes { parent { children(first: $n) { nodes { id } } } } } } } } } }";
        assert!(cost(four, serde_json::json!({"n": 1000})) > 1_000_000_000);
    }

    #[test]
    fn defaults_apply_without_arguments() {
        assert_eq!(
            cost(
                "{ unit(id: 1) { children { nodes { id } } } }",
                serde_json::Value::Null
            ),
            1 + 1 + 20 * 2
        );
        assert_eq!(cost("{ units { id } }", serde_json::Value::Null), 1 + 10);
    }

    #[test]
    fn fragment_bombs_stop() {
        let mut query = String::from("{ ...F0 }\n");
        for i in 0..30 {
            query.push_str(&format!(
                "fragment F{i} on Query {{ ...F{n} ...F{n} ...F{n} }}\n",
                n = i + 1
            ));
        }
        query.push_str("fragment F30 on Query { units { id } }\n");
        let schema = CostSchema::parse(SDL, 20, 10).expect("sdl");
        let doc = async_graphql_parser::parse_query(&query).expect("query");
        let op = select_operation(&doc, None).expect("one operation");
        assert_eq!(
            schema.cost(&doc, op, &serde_json::Value::Null),
            Err(CostError::TooManySelections)
        );
    }

    #[test]
    fn two_operations_need_a_name() {
        let doc =
            async_graphql_parser::parse_query("query A { units { id } } query B { units { id } }")
                .expect("query");
        assert!(matches!(select_operation(&doc, None), Err(Some(_))));
        let lone = async_graphql_parser::parse_query("query A { units { id } }").expect("query");
        assert!(
            select_operation(&lone, None).is_ok(),
            "one named operation needs no name"
        );
        assert!(select_operation(&doc, Some("B")).is_ok());
    }
}
