import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Forbids imports from the named top-level folders (relative paths of any depth). */
function floor(files, above) {
  const group = above.flatMap((dir) => [`../${dir}`, `../${dir}/*`, `../../${dir}`, `../../${dir}/*`, `../../../${dir}/*`, `../../../../${dir}/*`]);
  return {
    files,
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group, message: `a lower floor must not import ${above.join(', ')} (core <- models, drivers <- runtime <- provisioning)` }] }],
    },
  };
}

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.cache/', 'coverage/', '**/*.js', '**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  // Floors: core <- models, drivers <- runtime <- provisioning. A lower floor never imports an upper one.
  floor(['core/**/*.ts'], ['runtime', 'models', 'drivers', 'provisioning']),
  floor(['models/**/*.ts', 'drivers/**/*.ts'], ['runtime', 'provisioning']),
  floor(['runtime/**/*.ts'], ['provisioning']),
  // One recursive delete: removeInside (core/fs.ts) keeps it strictly inside its folder (issue 14).
  {
    files: ['**/*.ts'],
    ignores: ['core/fs.ts', 'test/**'],
    rules: {
      'no-restricted-syntax': ['error', ...['callee.name', 'callee.property.name'].map((callee) => ({
        selector: `CallExpression[${callee}=/^(rm|rmSync|rmdir|rmdirSync)$/] Property[key.name='recursive']`,
        message: 'a recursive delete goes through removeInside (core/fs.ts), which keeps it strictly inside its folder',
      }))],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/unbound-method': 'off' },
  },
);
