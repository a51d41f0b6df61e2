/** Placement constraints on agent attributes, in Marathon's vocabulary (`zone UNIQUE`, `rack LIKE a.*`). */

/** ConstraintOperator is how a constraint compares a field across instances. */
export const ConstraintOperator = {
  UNIQUE: 'UNIQUE',
  CLUSTER: 'CLUSTER',
  LIKE: 'LIKE',
  UNLIKE: 'UNLIKE',
  MAX_PER: 'MAX_PER',
} as const;
export type ConstraintOperator = (typeof ConstraintOperator)[keyof typeof ConstraintOperator];

/** Constraint is one parsed rule: `field` is `hostname` or an attribute name. */
export interface Constraint {
  field: string;
  operator: ConstraintOperator;
  value?: string;
}

/** Placement is where an instance is (or would be): the agent's hostname and attributes. */
export interface Placement {
  hostname: string;
  attributes: Record<string, string>;
}

const NEEDS_VALUE = new Set<ConstraintOperator>(['CLUSTER', 'LIKE', 'UNLIKE', 'MAX_PER']);

/** parseConstraint reads `field OPERATOR [value]`; it throws an Error that says what is wrong. */
export function parseConstraint(text: string): Constraint {
  const parts = text.trim().split(/\s+/);
  if (parts.length < 2 || parts.length > 3 || !parts[0])
    throw new Error(`expected "field OPERATOR [value]", got "${text}"`);
  const [field, op, value] = parts as [string, string, string | undefined];
  const operator = op.toUpperCase() as ConstraintOperator;
  if (!(operator in ConstraintOperator))
    throw new Error(`unknown operator "${op}" (expected ${Object.keys(ConstraintOperator).join(', ')})`);
  if (NEEDS_VALUE.has(operator) && value === undefined) throw new Error(`${operator} needs a value`);
  if (operator === 'UNIQUE' && value !== undefined) throw new Error('UNIQUE takes no value');
  if (operator === 'LIKE' || operator === 'UNLIKE') {
    try {
      new RegExp(`^(?:${value})$`);
    } catch (err) {
      throw new Error(`invalid regular expression "${value}": ${(err as Error).message}`);
    }
  }
  if (operator === 'MAX_PER' && !(Number.isInteger(Number(value)) && Number(value) > 0))
    throw new Error('MAX_PER needs a positive integer');
  return { field, operator, ...(value !== undefined ? { value } : {}) };
}

function fieldOf(p: Placement, field: string): string | undefined {
  return field === 'hostname' ? p.hostname : p.attributes[field];
}

/**
 * satisfies tells whether placing one more instance at `candidate` keeps `c` true, given where the
 * other instances already are. An agent without the attribute fails every rule but UNLIKE.
 */
export function satisfies(c: Constraint, candidate: Placement, placed: readonly Placement[]): boolean {
  const v = fieldOf(candidate, c.field);
  switch (c.operator) {
    case 'UNIQUE':
      return v !== undefined && !placed.some((p) => fieldOf(p, c.field) === v);
    case 'CLUSTER':
      return v === c.value;
    case 'LIKE':
      return v !== undefined && new RegExp(`^(?:${c.value})$`).test(v);
    case 'UNLIKE':
      return v === undefined || !new RegExp(`^(?:${c.value})$`).test(v);
    case 'MAX_PER':
      return v !== undefined && placed.filter((p) => fieldOf(p, c.field) === v).length < Number(c.value);
  }
}

/** satisfiesAll checks every constraint. */
export function satisfiesAll(
  cs: readonly Constraint[],
  candidate: Placement,
  placed: readonly Placement[],
): boolean {
  return cs.every((c) => satisfies(c, candidate, placed));
}
