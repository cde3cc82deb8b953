import { describe, expect, it } from 'vitest';
import { dataChoices } from './options.js';
import { userTemplate } from './task-templates.js';

describe('dataset options', () => {
  it('parses a --columns mapping and passes the other choices through', () => {
    expect(dataChoices({ columns: 'text=review, label=stars', format: 'classification' })).toEqual({
      columns: { text: 'review', label: 'stars' },
      format: 'classification',
    });
    expect(
      dataChoices({ columns: { text: 'body' }, noTemplate: true, encoding: 'latin1' }),
    ).toEqual({ columns: { text: 'body' }, noTemplate: true, encoding: 'latin1' });
    expect(() => dataChoices({ columns: 'text' })).toThrow(/is not role=column/);
  });

  it('reads \\n typed on a command line as a line break in a template', () => {
    const t = userTemplate('Review: {review}\\nSentiment:', 'bad,good');
    expect(t.candidates({ review: 'Fine' })[0]!.context).toBe('Review: Fine\nSentiment:');
  });
});
